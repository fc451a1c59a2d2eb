"""Tokens issued before a deactivation stay invalid after a reactivation
(``User.tokens_valid_after``), on REST, token refresh and the WebSocket; and
``manage.py purge_expired`` deletes expired tokens and sessions."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services
from accounts.authentication import check_token_still_valid
from accounts.models import User
from tests.contract.conftest import assert_error
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _issued_earlier(token: Any) -> Any:
    """A token as if issued ten seconds ago (before any cut-off set in this test)."""
    token.set_iat(at_time=timezone.now() - timedelta(seconds=10))
    return token


def _cycle(user: User) -> User:
    """Deactivate, then reactivate, the user, as an admin would."""
    admin = UserFactory.create(role="admin")
    services.user_deactivate(actor=admin, user=user)
    return services.user_reactivate(actor=admin, user=user)


def _wait_past_cut_off(user: User) -> None:
    """Tokens of the cut-off's own second are refused: let the clock pass it (under 1 s)."""
    assert user.tokens_valid_after is not None
    time.sleep(max(0.0, user.tokens_valid_after.timestamp() - time.time() + 0.01))


def test_an_access_token_from_before_a_deactivation_stays_refused_after_reactivation(
    anon: APIClient, alice: Any
) -> None:
    old = str(_issued_earlier(AccessToken.for_user(alice)))
    alice = _cycle(alice)
    response = anon.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {old}")
    assert_error(response, 401, "token_revoked")

    _wait_past_cut_off(alice)
    fresh = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}).json()
    me = anon.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert me.status_code == 200


def test_a_refresh_token_from_before_a_deactivation_stays_refused(
    anon: APIClient, alice: Any
) -> None:
    old = str(_issued_earlier(RefreshToken.for_user(alice)))
    alice = _cycle(alice)
    OutstandingToken.objects.all().delete()  # even without the blacklist entry
    response = anon.post("/api/auth/token/refresh/", {"refresh": old}, format="json")
    assert_error(response, 401, "token_revoked")


def test_the_cut_off_compares_whole_seconds_and_refuses_its_own_second(alice: Any) -> None:
    services.revoke_tokens(alice)
    cut_off = alice.tokens_valid_after
    assert cut_off is not None and cut_off.microsecond == 0
    token = AccessToken.for_user(alice)
    token["iat"] = int(cut_off.timestamp()) - 1
    with pytest.raises(AuthenticationFailed):
        check_token_still_valid(alice, token)
    token["iat"] = int(cut_off.timestamp())
    check_token_still_valid(alice, token)
    del token["iat"]
    with pytest.raises(AuthenticationFailed):
        check_token_still_valid(alice, token)


def test_a_user_never_cut_off_keeps_their_tokens(alice: Any, anon: APIClient) -> None:
    token = str(_issued_earlier(AccessToken.for_user(alice)))
    assert anon.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_with_a_token_from_before_a_deactivation_is_refused(
    alice: Any,
) -> None:
    from tests.integration.ws_support import close_code, communicator

    old = await database_sync_to_async(lambda: str(_issued_earlier(AccessToken.for_user(alice))))()
    await database_sync_to_async(_cycle)(alice)
    ws = communicator(protocols=["chat.v1", f"bearer.{old}"])
    connected, _ = await ws.connect()
    assert connected
    error = await ws.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "unauthorized")
    assert await close_code(ws) == 4401


def test_purge_expired_deletes_expired_tokens_and_sessions_only(alice: Any) -> None:
    live = RefreshToken.for_user(alice)
    expired = RefreshToken.for_user(alice)
    OutstandingToken.objects.filter(jti=expired["jti"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    for age in (-1, 1):
        store = SessionStore()
        store["x"] = age
        store.set_expiry(timedelta(days=age))
        store.create()

    call_command("purge_expired", stdout=(out := io.StringIO()))

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert Session.objects.count() == 1
    assert Session.objects.get().expire_date > timezone.now()
    assert "Purged 1 expired refresh token(s) and 1 expired session(s)." in out.getvalue()


def test_a_web_session_from_before_a_deactivation_ends_and_stays_ended(alice: Any) -> None:
    from django.test import Client

    browser = Client()
    browser.force_login(alice)
    assert browser.get("/").status_code == 200
    _cycle(alice)
    response = browser.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Signing in again works.
    assert (
        browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 302
    )
    assert browser.get("/").status_code == 200


def test_without_a_cut_off_the_session_hash_is_djangos_own(alice: Any) -> None:
    from django.contrib.auth.base_user import AbstractBaseUser

    assert alice.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(alice)
    services.revoke_tokens(alice)
    assert alice.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(alice)
