"""Fixtures of the REST contract tests: API clients that sign in with real JWTs.

Tokens go through the real authentication class (and so set the row-level security context
of the request), never ``force_authenticate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


def bearer(user: Any) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings: Any) -> None:
    """The suite sends many requests from one address; the rate-limit tests set their own."""
    settings.CHAT_AUTH_RATE = "100000/min"
    settings.CHAT_MESSAGE_RATE = "100000/min"
    settings.CHAT_EDIT_RATE = "100000/min"
    settings.CHAT_CHANNEL_CREATE_RATE = "100000/min"
    settings.CHAT_MEMBER_ADD_RATE = "100000/min"
    settings.CHAT_SEARCH_RATE = "100000/min"
    settings.CHAT_DM_CREATE_RATE = "100000/min"
    settings.CHAT_USER_SEARCH_RATE = "100000/min"
    settings.CHAT_REACTION_RATE = "100000/min"
    settings.CHAT_PREVIEW_RATE = "100000/min"
    settings.CHAT_REPORT_RATE = "100000/min"
    settings.CHAT_COMMAND_RATE = "100000/min"
    settings.CHAT_UPLOAD_RATE = "100000/min"
    settings.CHAT_DOWNLOAD_RATE = "100000/min"
    settings.CHAT_MEMBERSHIP_RATE = "100000/min"
    settings.CHAT_MENTION_LIST_RATE = "100000/min"


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def api_for() -> Callable[[Any], APIClient]:
    """api_for(user): a client sending ``Authorization: Bearer <access>`` of that user."""

    def _client(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(user))
        return client

    return _client


@pytest.fixture
def alice_api(api_for: Callable[[Any], APIClient], alice: Any) -> APIClient:
    return api_for(alice)


@pytest.fixture
def bob_api(api_for: Callable[[Any], APIClient], bob: Any) -> APIClient:
    return api_for(bob)


@pytest.fixture
def moderator_api(api_for: Callable[[Any], APIClient], moderator: Any) -> APIClient:
    return api_for(moderator)


def assert_error(response: Any, status: int, code: str | None = None, field: str | None = None):
    """The one error shape, with the status, and the code and field when given."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "detail", "fields"}, body
    assert isinstance(body["error"]["detail"], str) and body["error"]["detail"]
    if code is not None:
        assert body["error"]["code"] == code, body
    if field is not None:
        assert field in body["error"]["fields"], body
    return body["error"]
