"""Overload answered as overload: 503 with Retry-After when no database connection is free.

When every pooled PostgreSQL connection stays busy past the pool's timeout, psycopg_pool raises
PoolTimeout (wrapped by Django as OperationalError). That is the server being full, not a bug:
clients get 503 and a hint to retry instead of a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from psycopg_pool import PoolTimeout

from chatsite.api_errors import error_body

RETRY_AFTER_SECONDS = 1


def is_pool_exhausted(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


class OverloadMiddleware:
    """Sync only, and last in MIDDLEWARE on purpose: it makes Django run the whole chain below
    ServeStatic in one thread, without a hop between the event loop and a thread at every
    middleware (docs/performance.md)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_pool_exhausted(exception):
            return None
        detail = "The server is busy. Try again shortly."
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body("unavailable", detail), status=503)
        else:
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
