"""The per-request log line and the X-Request-ID header (first entry of MIDDLEWARE)."""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from django.dispatch import receiver
from django_structlog import signals
from django_structlog.middlewares import RequestMiddleware

from chatsite import metrics
from chatsite.overload import DATABASE_UNAVAILABLE

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def clean_request_id(value: str | None) -> str:
    """The caller's request id when it is short and plain, otherwise a new one."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return str(uuid.uuid4())


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request middleware with a validated ``X-Request-ID``.

    An incoming ``X-Request-ID`` of up to 128 plain characters is kept, anything else is
    replaced by a UUID; the id is echoed on the response. The single ``request_finished``
    line carries method, path (no query string), status, duration_ms, user_id and request_id.
    """

    def prepare(self, request: HttpRequest) -> None:
        request_id = clean_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.__dict__.pop("headers", None)  # rebuilt from META on next access
        request._log_started = time.monotonic()  # type: ignore[attr-defined]
        super().prepare(request)

    @staticmethod
    def format_request(request: HttpRequest) -> str:
        return f"{request.method} {request.path}"

    @staticmethod
    def bind_user_id(request: HttpRequest) -> None:
        """The user id for the log line; none while the database cannot say who it is.

        A request answered 503 because the database is away (chatsite.overload) may not have
        read its session user yet, and reading it here would turn the 503 into a 500.
        """
        try:
            RequestMiddleware.bind_user_id(request)
        except DATABASE_UNAVAILABLE:
            return


def _request_fields(request: HttpRequest, log_kwargs: dict[str, Any]) -> None:
    status = log_kwargs.pop("code", None)
    started = getattr(request, "_log_started", None)
    log_kwargs.pop("request", None)
    log_kwargs["method"] = request.method
    log_kwargs["path"] = request.path
    log_kwargs["status"] = status
    if started is not None:
        seconds = time.monotonic() - started
        log_kwargs["duration_ms"] = round(seconds * 1000, 2)
        route = metrics.request_route(request)
        metrics.observe_request(str(request.method), route, status or 500, seconds)


@receiver(signals.bind_extra_request_metadata)
def _on_request_started(
    sender: Any, request: HttpRequest, logger: Any, log_kwargs: dict[str, Any], **kwargs: Any
) -> None:
    log_kwargs.pop("user_agent", None)
    log_kwargs["method"] = request.method
    log_kwargs["path"] = request.path
    log_kwargs.pop("request", None)


@receiver(signals.bind_extra_request_finished_metadata)
def _on_request_finished(
    sender: Any,
    request: HttpRequest,
    logger: Any,
    response: HttpResponse,
    log_kwargs: dict[str, Any],
    **kwargs: Any,
) -> None:
    _request_fields(request, log_kwargs)
    response[REQUEST_ID_HEADER] = request.META["HTTP_X_REQUEST_ID"]


@receiver(signals.bind_extra_request_failed_metadata)
def _on_request_failed(
    sender: Any,
    request: HttpRequest,
    logger: Any,
    exception: Exception,
    log_kwargs: dict[str, Any],
    **kwargs: Any,
) -> None:
    _request_fields(request, log_kwargs)


@receiver(signals.update_failure_response)
def _on_failure_response(
    sender: Any, request: HttpRequest, response: HttpResponse, **kwargs: Any
) -> None:
    response[REQUEST_ID_HEADER] = request.META.get("HTTP_X_REQUEST_ID", "")
