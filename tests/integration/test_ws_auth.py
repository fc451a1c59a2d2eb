"""Who may open /ws/chat/: the Origin rules and the two credentials (chat/ws_auth.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings

from chat import ws_auth
from tests.integration.ws_support import access_token, session_cookie


def scope(*headers: tuple[bytes, bytes], subprotocols: list[str] | None = None) -> Any:
    return {"type": "websocket", "headers": list(headers), "subprotocols": subprotocols or []}


@pytest.mark.parametrize(
    ("origin", "kind"),
    [
        (None, ws_auth.ORIGIN_NONE),
        (b"http://localhost:8000", ws_auth.ORIGIN_SITE),
        (b"https://localhost:8000", ws_auth.ORIGIN_FORBIDDEN),  # wrong scheme
        (b"http://localhost:9000", ws_auth.ORIGIN_FORBIDDEN),  # wrong port
        (b"http://localhost", ws_auth.ORIGIN_FORBIDDEN),  # no port is port 80
        (b"https://chat.example.com", ws_auth.ORIGIN_SITE),
        (b"https://eu.chat.example.com", ws_auth.ORIGIN_SITE),
        (b"http://chat.example.com", ws_auth.ORIGIN_FORBIDDEN),
        (b"https://chat.example.com:8443", ws_auth.ORIGIN_FORBIDDEN),
        (b"https://app.partner.example", ws_auth.ORIGIN_CROSS_SITE),
        (b"http://app.partner.example", ws_auth.ORIGIN_FORBIDDEN),
        (b"https://evil.example", ws_auth.ORIGIN_FORBIDDEN),
        (b"null", ws_auth.ORIGIN_FORBIDDEN),
        (b"http://[bad", ws_auth.ORIGIN_FORBIDDEN),
    ],
)
@override_settings(
    ALLOWED_HOSTS=["localhost"],
    CSRF_TRUSTED_ORIGINS=["https://chat.example.com", "https://*.chat.example.com"],
    CORS_ALLOWED_ORIGINS=["https://app.partner.example"],
)
def test_origin_kind(origin: bytes | None, kind: str) -> None:
    headers = [(b"host", b"localhost:8000")]
    headers += [(b"origin", origin)] if origin is not None else []
    assert ws_auth.origin_kind(scope(*headers)) == kind


@override_settings(ALLOWED_HOSTS=["localhost"])
def test_a_secure_handshake_has_an_https_origin() -> None:
    """wss, or a proxy's X-Forwarded-Proto where SECURE_PROXY_SSL_HEADER trusts it."""
    host, origin = (b"host", b"localhost"), (b"origin", b"https://localhost")
    assert ws_auth.origin_kind(scope(host, origin)) == ws_auth.ORIGIN_FORBIDDEN
    assert ws_auth.origin_kind({**scope(host, origin), "scheme": "wss"}) == ws_auth.ORIGIN_SITE
    proxied = scope(host, origin, (b"x-forwarded-proto", b"https"))
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        assert ws_auth.origin_kind(proxied) == ws_auth.ORIGIN_SITE


@override_settings(ALLOWED_HOSTS=["localhost"])
def test_an_origin_naming_a_host_not_allowed_is_not_the_site() -> None:
    evil = (b"host", b"evil.example"), (b"origin", b"http://evil.example")
    assert ws_auth.origin_kind(scope(*evil)) == ws_auth.ORIGIN_FORBIDDEN


@override_settings(ALLOWED_HOSTS=[], DEBUG=True)
def test_debug_without_allowed_hosts_trusts_localhost_like_django() -> None:
    site = scope((b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"))
    assert ws_auth.origin_kind(site) == "site"


# The consumer reads from worker threads: the data must be committed.
committed = pytest.mark.django_db(transaction=True)


@committed
async def test_token_of_a_deleted_user_is_unauthorized(bob: Any) -> None:
    token = access_token(bob)
    await database_sync_to_async(bob.delete)()
    auth = await ws_auth.authenticate(scope(subprotocols=["chat.v1", f"bearer.{token}"]))
    assert auth.problem == ws_auth.PROBLEM_UNAUTHORIZED and auth.subprotocol == "chat.v1"


@committed
async def test_valid_token_carries_its_expiry(bob: Any) -> None:
    auth = await ws_auth.authenticate(scope(subprotocols=[f"bearer.{access_token(bob)}"]))
    assert auth.user == bob and auth.method == "token" and auth.problem is None
    assert auth.subprotocol is None  # chat.v1 was not offered: nothing to echo
    left = ws_auth.seconds_left(auth)
    lifetime = cast(timedelta, settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"])
    assert left is not None and 0 < left <= lifetime.total_seconds()


@committed
async def test_token_from_a_forbidden_origin_is_unauthorized(bob: Any) -> None:
    token = access_token(bob)
    auth = await ws_auth.authenticate(
        scope((b"origin", b"https://evil.example"), subprotocols=[f"bearer.{token}"])
    )
    assert auth.problem == ws_auth.PROBLEM_UNAUTHORIZED


@committed
async def test_session_whose_password_changed_is_unauthorized(bob: Any) -> None:
    cookie = await database_sync_to_async(session_cookie)(bob)

    def change_password() -> None:
        bob.set_password("another-long-password")
        bob.save()

    await database_sync_to_async(change_password)()
    auth = await ws_auth.authenticate(
        scope((b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie))
    )
    assert auth.problem == ws_auth.PROBLEM_UNAUTHORIZED


@committed
async def test_session_with_garbage_user_id_is_unauthorized() -> None:
    def make_session() -> str:
        session = SessionStore()
        session["_auth_user_id"] = "not-a-number"
        session[HASH_SESSION_KEY] = "x"
        session.create()
        return str(session.session_key)

    key = await database_sync_to_async(make_session)()
    cookie = f"{settings.SESSION_COOKIE_NAME}={key}".encode()
    auth = await ws_auth.authenticate(
        scope((b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie))
    )
    assert auth.problem == ws_auth.PROBLEM_UNAUTHORIZED


@committed
@override_settings(SECRET_KEY="new-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY])
async def test_session_signed_with_a_fallback_secret_key_still_works(bob: Any) -> None:
    with override_settings(SECRET_KEY=settings.SECRET_KEY_FALLBACKS[0], SECRET_KEY_FALLBACKS=[]):
        cookie = await database_sync_to_async(session_cookie)(bob)
    auth = await ws_auth.authenticate(
        scope((b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie))
    )
    assert auth.user == bob and auth.problem is None and auth.method == "session"
