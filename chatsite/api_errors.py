"""The one error shape of the REST API: ``{"error": {"code", "detail", "fields"}}``.

``exception_handler`` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) maps both DRF's exceptions and the
domain errors of ``chat.exceptions`` to it, keeps ``WWW-Authenticate`` on 401 and sets
``Retry-After`` on 429. docs/api.md lists the codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from chat.exceptions import ChatError, RateLimited, Unavailable

GENERIC_VALIDATION_DETAIL = "Invalid input."


def error_body(code: str, detail: str, fields: Mapping[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "detail": detail, "fields": dict(fields or {})}}


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as ``{"field" or "field.sub" or "field.0": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list) and any(isinstance(item, Mapping | list) for item in errors):
        for index, value in enumerate(errors):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    elif isinstance(errors, list):
        flat[prefix or "non_field_errors"] = [str(item) for item in errors]
    else:
        flat[prefix or "non_field_errors"] = [str(errors)]
    return {key: messages for key, messages in flat.items() if messages}


def _validation_body(exc: exceptions.ValidationError) -> dict:
    fields = _flatten(exc.detail)
    if list(fields) == ["non_field_errors"]:
        # ``raise ValidationError("...")`` with no field: the message is the detail.
        return error_body("validation_error", "; ".join(fields["non_field_errors"]))
    field, messages = next(iter(fields.items()), ("", [GENERIC_VALIDATION_DETAIL]))
    detail = f"{field}: {messages[0]}" if field else messages[0]
    return error_body("validation_error", detail, fields)


def _api_exception_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc)
    detail: Any = exc.detail
    code = exc.default_code
    if isinstance(detail, Mapping):
        # simplejwt's InvalidToken: {"detail", "code", "messages"}.
        code = str(detail.get("code", code))
        detail = detail.get("detail", "")
    elif isinstance(detail, list):
        detail = "; ".join(str(item) for item in detail)
    else:
        code = str(getattr(detail, "code", None) or code)
    return error_body(code, str(detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every API error in one shape."""
    if isinstance(exc, ChatError):
        set_rollback()
        answer = Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status_code)
        if isinstance(exc, RateLimited | Unavailable):
            answer["Retry-After"] = str(exc.retry_after)
        return answer
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = _api_exception_body(exc)
    else:  # Http404 or django PermissionDenied, already mapped by DRF.
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(code, str(response.data.get("detail", "")))
    if isinstance(exc, exceptions.Throttled):
        # One code for every rate limit, whichever door (chatsite.ratelimit).
        response.data = error_body("rate_limited", str(exc.detail))
        # DRF writes "%d" of a fractional wait, which can say 0: round up, at least 1 s.
        response["Retry-After"] = str(max(1, math.ceil(getattr(exc, "wait", None) or 1)))
    return response


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/, by any method: a 404 in the API's shape, not an HTML page.

    Exempt from the CSRF check: it changes nothing, and a bearer-token client posting to a
    wrong path must learn that the path is wrong, not that a cookie check failed.
    """
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: under /api/ a 403 in the API's shape, elsewhere Django's page."""
    if request.path.startswith("/api/"):
        detail = f"CSRF check failed: {reason}" if reason else "CSRF check failed."
        return JsonResponse(error_body("csrf_failed", detail), status=403)
    return csrf.csrf_failure(request, reason)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: what Django refuses before a view runs (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields), in the API's shape under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "The request cannot be read."), status=400)
    return defaults.bad_request(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a bug is still a 500, but API clients get the API's shape."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return defaults.server_error(request)


# --- OpenAPI ------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. validation_error, not_found.")
    detail = serializers.CharField(help_text="A sentence for people.")
    # Declared fields are popped off the class, so this does not shadow Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for validation errors; empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid input (validation_error, parse_error).",
    401: "Missing, invalid or expired credentials; see WWW-Authenticate.",
    403: "Not allowed (permission_denied, archived).",
    404: "Not found, or not visible to this user.",
    413: "A body past its size limit (too_large): CHAT_UPLOAD_MAX_BYTES for uploads,"
    " CHAT_HOOK_MAX_BYTES for incoming webhooks.",
    415: "A body that is not application/json (unsupported_media_type).",
    429: "Too many requests; see Retry-After.",
    503: "The database is away or busy (unavailable); see Retry-After.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The ``responses`` entries of extend_schema for the error statuses of one endpoint."""
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=_ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


def document_global_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: the errors any operation can answer.

    Every operation may answer 503 (the database is away or busy, chatsite.overload), and every
    operation that takes a body answers 415 to a body in another content type than JSON.
    """
    error = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = [503, 415] if "requestBody" in operation else [503]
            for status in statuses:
                responses.setdefault(
                    str(status),
                    {
                        "content": {"application/json": {"schema": error}},
                        "description": _ERROR_DESCRIPTIONS[status],
                    },
                )
    return result


# DRF's CharField refuses NUL ("Null characters are not allowed."), a 400.
_NO_NUL = r"^[^\x00]*$"


def _says_no_nul(schema: dict) -> None:
    if schema.get("type") == "string" and not {"format", "pattern", "enum"} & set(schema):
        schema["pattern"] = _NO_NUL


def document_string_rules(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: the free-text strings of requests (bodies
    and query parameters) say that they may not hold NUL, which every text field refuses."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the request side only.
            for field in component.get("properties", {}).values():
                _says_no_nul(field)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _says_no_nul(parameter.get("schema", {}))
    return result
