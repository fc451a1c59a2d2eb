"""A full database pool or a database that is away is answered 503 + Retry-After, never 500."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.db.utils import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject
from psycopg_pool import PoolTimeout

from chatsite.overload import OverloadMiddleware
from chatsite.request_log import RequestLogMiddleware


def _pool_timeout() -> OperationalError:
    # Django wraps the driver's error the same way (django.db.utils.DatabaseErrorWrapper).
    try:
        try:
            raise PoolTimeout("couldn't get a connection after 10.00 sec")
        except PoolTimeout as cause:
            raise OperationalError(str(cause)) from cause
    except OperationalError as wrapped:
        return wrapped


def _middleware() -> OverloadMiddleware:
    def view(request: Any) -> Any:
        raise _pool_timeout()

    return OverloadMiddleware(view)


def test_api_request_gets_503_json_with_retry_after() -> None:
    request = RequestFactory().post("/api/chat/messages")
    response = _middleware().process_exception(request, _pool_timeout())
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert json.loads(response.content)["error"]["code"] == "unavailable"


def test_page_request_gets_an_html_503() -> None:
    request = RequestFactory().get("/channels/general/")
    response = _middleware().process_exception(request, _pool_timeout())
    assert response is not None and response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "1"
    assert b"The server is busy" in response.content


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("server closed the connection unexpectedly"),
        OperationalError("connection failed: Connection refused"),
        InterfaceError("connection already closed"),
    ],
)
def test_a_database_that_is_away_is_503_not_500(exc: Exception, caplog: Any) -> None:
    request = RequestFactory().post("/api/chat/messages")
    with caplog.at_level(logging.WARNING, logger="chatsite.overload"):
        response = _middleware().process_exception(request, exc)
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "1"
    body = json.loads(response.content)["error"]
    assert body["code"] == "unavailable" and "database is unavailable" in body["detail"]
    [record] = [r for r in caplog.records if r.name == "chatsite.overload"]
    assert record.exc_info is None and "database.unavailable" in record.getMessage()


@pytest.mark.parametrize(
    "exc", [IntegrityError("duplicate key"), ProgrammingError("syntax error"), ValueError()]
)
def test_other_errors_are_left_alone(exc: Exception) -> None:
    request = RequestFactory().get("/api/chat/channels/")
    assert _middleware().process_exception(request, exc) is None


def test_the_request_log_leaves_out_a_user_the_database_cannot_read() -> None:
    """The log line of a 503 reads request.user; with the database away that must not raise
    (it would turn the 503 into a 500)."""

    def read_user() -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    request = RequestFactory().get("/channels/general/")
    request.user = SimpleLazyObject(read_user)  # type: ignore[assignment]
    RequestLogMiddleware.bind_user_id(request)
