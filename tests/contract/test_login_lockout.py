"""Brute-force protection (django-axes) on POST /api/auth/token/: a clean 429, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


@pytest.fixture(autouse=True)
def _small_failure_limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3  # every attempt hashes a password: keep the test short


def _login(client: APIClient, username: str, password: str, address: str = "10.0.0.7") -> Any:
    return client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def test_the_failure_that_reaches_the_limit_and_later_ones_get_429_json(alice: Any) -> None:
    client = APIClient()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert _login(client, "alice", "not-" + PASSWORD).status_code == 401

    locked = _login(client, "alice", "not-" + PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    assert locked["Retry-After"] == str(settings.AXES_COOLOFF_TIME.seconds)
    assert locked["X-Request-ID"]

    # Even the right password is refused while the lockout lasts.
    still_locked = _login(client, "alice", PASSWORD)
    assert still_locked.status_code == 429
    assert still_locked.json() == {
        "error": {
            "code": "locked_out",
            "detail": "Too many failed login attempts. Try again later.",
            "fields": {},
        }
    }
    assert "access" not in still_locked.json()


def test_lockout_is_per_username_and_address(alice: Any, bob: Any) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", PASSWORD).status_code == 429
    assert _login(client, "alice", PASSWORD, address="10.0.0.8").status_code == 200
    assert _login(client, "bob", PASSWORD).status_code == 200


def test_a_success_before_the_limit_resets_the_count(alice: Any) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "alice", "wrong").status_code == 401
    assert _login(client, "alice", PASSWORD).status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "alice", "wrong").status_code == 401
    assert _login(client, "alice", PASSWORD).status_code == 200
