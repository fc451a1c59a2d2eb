"""Security glue: the CSP middleware and brute-force lockout that also covers the JWT API."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.signals import user_locked_out
from csp.middleware import CSPMiddleware, PolicyParts
from django.contrib.auth import backends as auth_backends
from django.core.exceptions import DisallowedHost
from django.dispatch import receiver
from django.http import Http404, HttpResponse, JsonResponse
from django.views.defaults import page_not_found

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding the site's own WebSocket origin to connect-src.

    ``'self'`` covers same-origin ws/wss in current browsers; naming the origin explicitly
    keeps older ones working. The origin follows the request (host and scheme, behind the
    proxy header when DJANGO_HTTPS=1), so one policy serves every allowed host.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        origin = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        existing = update.get("connect-src") or []
        if isinstance(existing, str):
            existing = [existing]
        update["connect-src"] = [*existing, origin]
        parts.update = update
        return parts


class PlainNotFoundMiddleware:
    """With DEBUG on, a path that matches no URL, and a page that finds nothing (a channel
    the member cannot see), get the site's own 404 page (templates/404.html).

    Django's debug 404 page lists every URL pattern of the site and reads like a crash to a
    member; a development server on a loopback address needs the tracebacks, not a map for
    whoever finds it. Installed only with DEBUG (without it Django already answers with the
    site's page). The API keeps its JSON 404 and the admin its own page.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if isinstance(exception, Http404) and not request.path.startswith(("/api/", "/admin/")):
            return page_not_found(request, exception)
        return None


class AxesBackend(AxesStandaloneBackend):
    """django-axes' lockout check, working for DRF views too.

    simplejwt's TokenObtainPairSerializer passes DRF's Request to ``authenticate``; axes marks
    the request it is given as locked out, and AxesMiddleware looks at Django's HttpRequest.
    Handing axes the underlying HttpRequest makes the middleware see the lockout and answer
    with :func:`lockout_response` instead of a bare 401.
    """

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        http_request = getattr(request, "_request", request)
        return super().authenticate(http_request, username, password, **kwargs)


class ModelBackend(auth_backends.ModelBackend):
    """Django's ModelBackend; a success through the JWT API also clears the failure count.

    The web login clears it through the ``user_logged_in`` signal, which simplejwt never sends
    (it issues tokens without a session login).
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = super().authenticate(request, username, password, **kwargs)
        http_request = getattr(request, "_request", None)
        if user is not None and http_request is not None:
            AxesProxyHandler.user_logged_in(type(self), http_request, user)
        return user


@receiver(user_locked_out)
def _flag_django_request(sender: Any, request: Any, **kwargs: Any) -> None:
    """The attempt that reaches the limit is answered with the lockout response too.

    axes flags the request its signal handler was given, which for simplejwt is DRF's Request;
    AxesMiddleware reads the flag from Django's HttpRequest underneath.
    """
    http_request = getattr(request, "_request", None)
    if http_request is not None:
        http_request.axes_locked_out = True
        http_request.axes_credentials = getattr(request, "axes_credentials", None)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; the API error shape under /api/."""
    cool_off = get_cool_off(request)
    retry_after = max(1, math.ceil(cool_off.total_seconds())) if cool_off else None
    detail = "Too many failed login attempts. Try again later."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": {"code": "locked_out", "detail": detail, "fields": {}}}, status=429
        )
    else:
        response = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
