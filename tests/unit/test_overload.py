"""A full database pool is answered with 503 and Retry-After, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.utils import OperationalError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from chatsite.overload import OverloadMiddleware


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


def test_page_request_gets_plain_503() -> None:
    request = RequestFactory().get("/channels/general/")
    response = _middleware().process_exception(request, _pool_timeout())
    assert response is not None and response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("exc", [OperationalError("server closed the connection"), ValueError()])
def test_other_errors_are_left_alone(exc: Exception) -> None:
    request = RequestFactory().get("/api/chat/channels/")
    assert _middleware().process_exception(request, exc) is None
