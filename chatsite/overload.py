"""Overload and database outages answered as such: 503 with Retry-After, never a 500.

When every pooled PostgreSQL connection stays busy past the pool's timeout, psycopg_pool raises
PoolTimeout (wrapped by Django as OperationalError). That is the server being full, not a bug.
When PostgreSQL is down or restarting, the query fails with OperationalError or InterfaceError
(the server closed the connection, refused a new one, is shutting down); while it stays down
the pool cannot make connections and requests end in PoolTimeout too. Either way clients get
503 and a hint to retry; the error shape of the API under /api/, a page otherwise
(docs/operations.md, "Outages").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from psycopg_pool import PoolTimeout

from chatsite.api_errors import error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
# What Django raises when the server or the connection fails, not the query (those are
# ProgrammingError, IntegrityError, DataError: bugs or 4xx).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def is_pool_exhausted(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


def is_database_unavailable(exc: BaseException) -> bool:
    """The database could not serve the request: the pool is full, or the server is away."""
    return isinstance(exc, DATABASE_UNAVAILABLE)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 + Retry-After: the API's error shape under /api/, an HTML page otherwise."""
    busy = is_pool_exhausted(exc)
    if busy:
        detail = "The server is busy. Try again shortly."
    else:
        detail = "The database is unavailable. Try again shortly."
        # One line, no traceback: an outage is an operations event, not a bug to debug.
        logger.warning("database.unavailable: %s: %s", type(exc).__name__, str(exc).strip())
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("unavailable", detail), status=503)
    else:
        # Rendered without the request: context processors could reach the database.
        response = HttpResponse(loader.render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


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
        if not is_database_unavailable(exception):
            return None
        return unavailable_response(request, exception)
