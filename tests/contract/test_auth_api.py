"""/api/auth/: tokens, refresh with rotation and blacklist, register, me, inactive users."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.api import RegisterSerializer
from accounts.models import User
from tests.contract.conftest import assert_error, bearer
from tests.factories import PASSWORD, UserFactory

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]

STRONG_PASSWORD = "plum-kettle-orbit-42"


def _tokens(client: APIClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_token_pair_for_valid_credentials(anon: APIClient, alice: Any) -> None:
    response = _tokens(anon, "alice")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = anon.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json()["username"] == "alice"


def test_token_with_wrong_password_is_401(anon: APIClient, alice: Any) -> None:
    response = _tokens(anon, "alice", "wrong-password")
    assert_error(response, 401, "no_active_account")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_without_password_is_400_naming_it(anon: APIClient, alice: Any) -> None:
    response = anon.post("/api/auth/token/", {"username": "alice"}, format="json")
    assert_error(response, 400, "validation_error", "password")


def test_refresh_rotates_and_blacklists_the_old_token(anon: APIClient, alice: Any) -> None:
    refresh = _tokens(anon, "alice").json()["refresh"]
    response = anon.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["access"] and body["refresh"] and body["refresh"] != refresh
    again = anon.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert_error(again, 401, "token_not_valid")


def test_refresh_with_garbage_is_401(anon: APIClient) -> None:
    response = anon.post("/api/auth/token/refresh/", {"refresh": "not-a-jwt"}, format="json")
    assert_error(response, 401, "token_not_valid")
    assert "WWW-Authenticate" in response


def test_refresh_of_a_deleted_user_is_401(anon: APIClient) -> None:
    user = UserFactory.create()
    refresh = _tokens(anon, user.username).json()["refresh"]
    User.objects.filter(pk=user.pk).delete()
    response = anon.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 401


def test_register_creates_a_user_who_can_sign_in(anon: APIClient) -> None:
    response = anon.post(
        "/api/auth/register/",
        {"username": "dora", "email": "Dora@Example.COM", "password": STRONG_PASSWORD},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "email"}
    assert body["username"] == "dora"
    assert body["email"] == "Dora@example.com"
    assert _tokens(anon, "dora", STRONG_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "dora", "email": "ALICE@example.com"}, "email"),
        ({"username": "Alice", "email": "dora@example.com"}, "username"),
        ({"username": "dora", "email": "not-an-email"}, "email"),
        ({"username": "bad name!", "email": "dora@example.com"}, "username"),
        ({"username": "dora", "email": "dora@example.com", "password": "123"}, "password"),
        (
            {"username": "dora", "email": "dora@example.com", "password": "dora@example.com"},
            "password",
        ),
        ({"email": "dora@example.com"}, "username"),
    ],
)
def test_register_with_bad_input_is_400_naming_the_field(
    anon: APIClient, alice: Any, payload: dict[str, str], field: str
) -> None:
    body = {"password": STRONG_PASSWORD, **payload}
    response = anon.post("/api/auth/register/", body, format="json")
    assert_error(response, 400, "validation_error", field)
    assert not User.objects.filter(username="dora").exists()


def test_me_describes_the_user(alice_api: APIClient, alice: Any) -> None:
    response = alice_api.get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(alice.pk),
        "username": "alice",
        "email": alice.email,
        "display_name": "Alice",
        "role": "member",
    }


def test_me_without_credentials_is_401_with_www_authenticate(anon: APIClient) -> None:
    response = anon.get("/api/auth/me/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_me_with_an_invalid_token_is_401(anon: APIClient) -> None:
    response = anon.get("/api/auth/me/", HTTP_AUTHORIZATION="Bearer abc.def.ghi")
    assert_error(response, 401, "token_not_valid")


def test_a_token_of_a_deleted_user_is_401(anon: APIClient) -> None:
    user = UserFactory.create()
    header = bearer(user)
    user.delete()
    response = anon.get("/api/auth/me/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "user_not_found")


@pytest.mark.parametrize("claim", ["abc", None, 12.5])
def test_a_signed_token_with_a_bad_user_claim_is_401(anon: APIClient, claim: Any) -> None:
    token = AccessToken()
    token["user_id"] = claim  # signed with the server's key, but names no user id
    response = anon.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


@pytest.mark.parametrize(
    "path",
    [
        "/api/auth/me/",
        "/api/chat/channels/",
        "/api/chat/messages?channel_id=00000000-0000-0000-0000-000000000000",
    ],
)
def test_an_inactive_users_existing_token_is_401_everywhere(anon: APIClient, path: str) -> None:
    user = UserFactory.create()
    header = bearer(user)
    assert anon.get(path, HTTP_AUTHORIZATION=header).status_code != 401
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = anon.get(path, HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "user_inactive")


def test_an_inactive_user_gets_no_token_and_no_refresh(anon: APIClient) -> None:
    user = UserFactory.create()
    refresh = _tokens(anon, user.username).json()["refresh"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(_tokens(anon, user.username), 401)
    response = anon.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert_error(response, 401, "no_active_account")


def test_session_login_works_for_the_browsable_api(alice: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    login_page = client.get("/api/auth/session/login/")
    assert login_page.status_code == 200
    response = client.post(
        "/api/auth/session/login/",
        {
            "username": "alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": login_page.cookies["csrftoken"].value,
            "next": "/api/chat/channels/",
        },
        format="multipart",  # Django's login page reads a form, not the API's JSON
    )
    assert response.status_code == 302
    page = client.get("/api/chat/channels/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"alice" in page.content
    # A session write without the CSRF token is refused.
    post = client.post("/api/chat/channels/", {"name": "nocsrf"}, format="json")
    assert_error(post, 403, "permission_denied")


def test_register_losing_a_race_for_the_email_is_400_naming_it(alice: Any) -> None:
    # Validation passed before the other sign-up committed: the database has the last word.
    serializer = RegisterSerializer()
    with pytest.raises(serializers.ValidationError) as raised:
        serializer.create({"username": "dora", "email": "ALICE@example.com", "password": "x"})
    assert "email" in raised.value.detail
    with pytest.raises(serializers.ValidationError) as raised:
        serializer.create({"username": "alice", "email": "dora@example.com", "password": "x"})
    assert "username" in raised.value.detail
