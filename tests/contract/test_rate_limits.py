"""Limits on channel creation, edits and member adds (per user), and the one per-address
CHAT_AUTH_RATE budget that every login, token and sign-up door spends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.contract.conftest import assert_error
from tests.factories import PASSWORD, UserFactory

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]


def _address() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def _assert_rate_limited(response: Any) -> None:
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 3600


# --- Per-user limits -----------------------------------------------------------------------


def test_channel_creation_past_chat_channel_create_rate_is_429(
    settings: Any, alice: Any, alice_api: APIClient
) -> None:
    settings.CHAT_CHANNEL_CREATE_RATE = "2/hour"
    for name in ("one", "two"):
        assert alice_api.post("/api/chat/channels/", {"name": name}).status_code == 201
    _assert_rate_limited(alice_api.post("/api/chat/channels/", {"name": "three"}))
    # The web page spends the same budget.
    page = Client()
    page.force_login(alice)
    response = page.post("/channels/new/", {"name": "four"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "Too many new channels" in response.content.decode()


def test_edits_past_chat_edit_rate_are_429(
    settings: Any, alice: Any, channel: Any, post: Any, alice_api: APIClient
) -> None:
    settings.CHAT_EDIT_RATE = "2/hour"
    message = post(alice, channel, "first")
    url = f"/api/chat/messages/{message.pk}"
    for number in range(2):
        assert alice_api.patch(url, {"content": f"edit {number}"}).status_code == 200
    _assert_rate_limited(alice_api.patch(url, {"content": "edit 2"}))


def test_member_adds_past_chat_member_add_rate_are_429(
    settings: Any, private_channel: Any, alice_api: APIClient
) -> None:
    settings.CHAT_MEMBER_ADD_RATE = "2/hour"
    url = f"/api/chat/channels/{private_channel.pk}/members/"
    users = UserFactory.create_batch(3)
    for user in users[:2]:
        assert alice_api.post(url, {"user_id": user.pk}).status_code == 201
    _assert_rate_limited(alice_api.post(url, {"user_id": users[2].pk}))


def test_each_user_has_a_budget_of_their_own(
    settings: Any, alice_api: APIClient, bob_api: APIClient
) -> None:
    settings.CHAT_CHANNEL_CREATE_RATE = "1/hour"
    assert alice_api.post("/api/chat/channels/", {"name": "alices"}).status_code == 201
    assert bob_api.post("/api/chat/channels/", {"name": "bobs"}).status_code == 201
    _assert_rate_limited(alice_api.post("/api/chat/channels/", {"name": "more"}))


# --- Every login door shares CHAT_AUTH_RATE per client address -------------------------------

ATTEMPT = {"username": "alice", "password": "not-the-password"}


def _login_page(address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/accounts/login/", ATTEMPT)


def _signup_page(address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/accounts/signup/", {"username": "x"})


def _token(address: str) -> Any:
    return APIClient(REMOTE_ADDR=address).post("/api/auth/token/", ATTEMPT, format="json")


def _register(address: str) -> Any:
    return APIClient(REMOTE_ADDR=address).post("/api/auth/register/", {}, format="json")


def _session_login(address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/api/auth/session/login/", ATTEMPT)


def _admin_login(address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/admin/login/", ATTEMPT)


DOORS: dict[str, Callable[[str], Any]] = {
    "login page": _login_page,
    "signup page": _signup_page,
    "token": _token,
    "register": _register,
    "session login": _session_login,
    "admin login": _admin_login,
}


@pytest.mark.parametrize("door", DOORS)
def test_each_login_door_is_limited_per_address(settings: Any, alice: Any, door: str) -> None:
    settings.CHAT_AUTH_RATE = "2/hour"
    attempt = DOORS[door]
    address = _address()
    for _ in range(2):
        assert attempt(address).status_code != 429
    refused = attempt(address)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    # Another address has a budget of its own.
    assert attempt(_address()).status_code != 429


def test_all_login_doors_spend_one_budget_per_address(settings: Any, alice: Any) -> None:
    settings.CHAT_AUTH_RATE = f"{len(DOORS)}/hour"
    address = _address()
    for door, attempt in DOORS.items():
        assert attempt(address).status_code != 429, door
    for door, attempt in DOORS.items():
        assert attempt(address).status_code == 429, door


def test_the_session_login_over_the_budget_answers_in_the_api_shape(settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/hour"
    address = _address()
    _session_login(address)
    _assert_rate_limited(_session_login(address))


def test_a_right_password_is_refused_too_once_the_budget_is_spent(
    settings: Any, alice: Any
) -> None:
    settings.CHAT_AUTH_RATE = "1/hour"
    address = _address()
    _admin_login(address)
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_trusted_proxies_name_the_client_by_x_forwarded_for(settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/hour"
    settings.NUM_PROXIES = 1
    proxy = _address()
    first, second = _address(), _address()
    client = APIClient(REMOTE_ADDR=proxy)
    assert client.post("/api/auth/register/", {}, HTTP_X_FORWARDED_FOR=first).status_code == 400
    assert client.post("/api/auth/register/", {}, HTTP_X_FORWARDED_FOR=second).status_code == 400
    refused = client.post("/api/auth/register/", {}, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {first}")
    assert refused.status_code == 429
