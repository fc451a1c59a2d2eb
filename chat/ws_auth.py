"""Who is on the other end of a WebSocket: the Origin check and the authentication.

Two credentials are accepted (docs/api.md, "WebSocket"):

- the session cookie, but only when the handshake's Origin is the site's own: the full origin
  (scheme, host and port) must be that of the handshake (its Host, checked against
  ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS, by Django's own CSRF origin check. A
  cross-site page must never ride on a visitor's cookie, nor a page on another port or scheme;
- an access JWT in the subprotocol list, ``Sec-WebSocket-Protocol: chat.v1, bearer.<JWT>``,
  or a bot's API token the same way (``bearer.csb_…``, docs/integrations.md). Native clients
  send no Origin; a token is no ambient credential, so they are served.

The middleware never refuses a connection itself: it puts a ``WebSocketAuth`` into
``scope["auth"]`` (and the user into ``scope["user"]``), and the consumer answers a problem
with an ``error`` event and a close code the client can act on. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import io
import time
import weakref
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import ParseResult, urlparse

from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.crypto import constant_time_compare
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.authentication import JWTAuthentication
from chat import selectors
from chat.read_threads import connect_read
from chatsite import rls
from chatsite.overload import DATABASE_UNAVAILABLE
from integrations import services as integration_services

SUBPROTOCOL = "chat.v1"
TOKEN_PREFIX = "bearer."  # noqa: S105 (a prefix, not a secret)

# What the Origin header of a handshake is, for the rules above.
ORIGIN_NONE = "none"
ORIGIN_SITE = "site"
ORIGIN_CROSS_SITE = "cross-site"
ORIGIN_FORBIDDEN = "forbidden"

PROBLEM_UNAUTHORIZED = "unauthorized"
PROBLEM_INACTIVE = "inactive"
PROBLEM_UNAVAILABLE = "unavailable"  # the database could not be asked


@dataclass(frozen=True)
class WebSocketAuth:
    """The outcome of authenticating a handshake."""

    user: Any
    method: str | None = None  # "token", "bot_token" or "session"
    problem: str | None = None  # PROBLEM_UNAUTHORIZED, PROBLEM_INACTIVE or PROBLEM_UNAVAILABLE
    expires_at: float | None = None  # the access token's exp (epoch seconds)
    subprotocol: str | None = None  # what to echo on accept
    session_key: str | None = None  # a session socket's session, re-checked every heartbeat
    issued_at: float | None = None  # the access token's iat, re-checked against revocation
    # Read in the same database hop as the user, for the consumer's first steps (None when
    # the handshake is refused): the user's channels as (id, name, last_seq) and the ids of
    # the people who share one (docs/performance.md, "Round 3: connects").
    member_channels: tuple[tuple[str, str, int], ...] | None = None
    co_member_ids: tuple[int, ...] | None = None
    bot_token_id: str | None = None  # a bot token socket's token, re-checked every heartbeat
    # A bot token limited to some channels: their ids (None: wherever the user may go).
    channel_scope: frozenset[str] | None = None

    def take_connect_reads(
        self,
    ) -> tuple[tuple[tuple[str, str, int], ...] | None, tuple[int, ...] | None]:
        """``member_channels`` and ``co_member_ids``, once: the consumer needs them for its
        first steps only, and this object lives in the socket's scope as long as the socket
        (a room of 50 is 49 ids per open socket otherwise)."""
        reads = (self.member_channels, self.co_member_ids)
        object.__setattr__(self, "member_channels", None)  # frozen, but for this
        object.__setattr__(self, "co_member_ids", None)
        return reads


def _handshake_request(scope: dict[str, Any]) -> HttpRequest:
    """The handshake as Django sees an HTTP request: Host, Origin, and the scheme (wss is
    https; behind a proxy, SECURE_PROXY_SSL_HEADER decides as it does for pages)."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    http_scope = {"path": "/", **scope, "type": "http", "method": "GET", "scheme": scheme}
    return ASGIRequest(http_scope, io.BytesIO())


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("the CSRF middleware is only asked about the origin")


def _is_site_origin(scope: dict[str, Any]) -> bool:
    """Django's CSRF origin check of the handshake: scheme, host and port all count.

    ``_origin_verified`` is what CsrfViewMiddleware runs on every unsafe request with an
    Origin header (same origin as ``request.get_host()``, or CSRF_TRUSTED_ORIGINS with their
    wildcards); calling it keeps the pages and the socket on one rule instead of a copy.
    """
    middleware = CsrfViewMiddleware(_no_response)
    return bool(middleware._origin_verified(_handshake_request(scope)))  # type: ignore[attr-defined]


class _Matcher(OriginValidator):
    """Channels' origin matching (scheme, host, port, subdomain patterns), without the app."""

    def __init__(self, patterns: list[str]) -> None:
        super().__init__(None, patterns)


def _parsed_origin(scope: dict[str, Any]) -> ParseResult | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            try:
                return urlparse(value.decode("latin1"))
            except (UnicodeDecodeError, ValueError):
                return urlparse("null")
    return None


def origin_kind(scope: dict[str, Any]) -> str:
    """Classify a handshake's Origin: none, the site's own, an allowed cross-site one, or not."""
    origin = _parsed_origin(scope)
    if origin is None:
        return ORIGIN_NONE
    if _is_site_origin(scope):
        return ORIGIN_SITE
    if _Matcher(list(settings.CORS_ALLOWED_ORIGINS)).validate_origin(origin):
        return ORIGIN_CROSS_SITE
    return ORIGIN_FORBIDDEN


class ChatOriginValidator(OriginValidator):
    """AllowedHostsOriginValidator for a site that also serves native clients.

    Channels' AllowedHostsOriginValidator refuses a handshake that has no Origin header. Every
    browser sends one on a WebSocket handshake, so a missing Origin means a native client, and
    such a client can only authenticate with a token (``WebSocketAuthMiddleware`` uses the
    session cookie only when the Origin is the site's own). This validator therefore also lets
    through a missing Origin and the CORS_ALLOWED_ORIGINS pages (token only), and still refuses
    every other Origin before the application sees the handshake.
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        kind = origin_kind(scope)
        if kind == ORIGIN_FORBIDDEN:
            return await WebsocketDenier()(scope, receive, send)
        scope["origin_kind"] = kind  # no copy kept per socket (WebSocketAuthMiddleware)
        return await self.application(scope, receive, send)


def _offered_token(subprotocols: list[str]) -> str | None:
    for offered in subprotocols:
        if offered.startswith(TOKEN_PREFIX):
            return offered[len(TOKEN_PREFIX) :]
    return None


def _user_from_token(raw_token: str) -> WebSocketAuth:
    """The REST API's own look-up (simplejwt's, plus revoked tokens), so both doors agree."""
    try:
        token = AccessToken(raw_token)  # type: ignore[arg-type]
        user = JWTAuthentication().get_user(token)
    except AuthenticationFailed as error:
        detail = error.detail
        if isinstance(detail, dict) and detail.get("code") == "user_inactive":
            return WebSocketAuth(AnonymousUser(), "token", PROBLEM_INACTIVE)
        return WebSocketAuth(AnonymousUser(), "token", PROBLEM_UNAUTHORIZED)
    except (TokenError, InvalidToken):
        return WebSocketAuth(AnonymousUser(), "token", PROBLEM_UNAUTHORIZED)
    return WebSocketAuth(
        user, "token", expires_at=float(token["exp"]), issued_at=float(token["iat"])
    )


def _bot_from_token(raw_token: str) -> WebSocketAuth:
    """A bot's API token, looked up as the REST API's BotTokenAuthentication does; a forged
    or revoked token, or a deactivated bot, is refused like a bad JWT."""
    found = integration_services.bot_token_authenticate(raw_token)
    if found is None:
        return WebSocketAuth(AnonymousUser(), "bot_token", PROBLEM_UNAUTHORIZED)
    bot, row = found
    scope = frozenset(str(c) for c in row.channel_ids) if row.channel_ids else None
    return WebSocketAuth(bot, "bot_token", bot_token_id=str(row.pk), channel_scope=scope)


def _session_hash_matches(session: Any, user: Any) -> bool:
    session_hash = session.get(HASH_SESSION_KEY) or ""
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def _user_from_session(scope: dict[str, Any]) -> WebSocketAuth:
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return WebSocketAuth(AnonymousUser(), None, PROBLEM_UNAUTHORIZED)
    return session_auth(session_key)


def session_auth(session_key: str) -> WebSocketAuth:
    """The user of a session, checked as django.contrib.auth.get_user checks it, telling an
    inactive user apart (4403 rather than 4401).

    Not get_user itself: on a session signed with a fallback SECRET_KEY it rotates the session
    key, and a WebSocket handshake (or a heartbeat's re-check) cannot hand the browser the
    new cookie, so the visitor would be logged out. The checks are Django's public pieces:
    the session's user id and auth hash against ``get_session_auth_hash`` and its fallbacks,
    so a log-out (session gone) or a password change (hash changed) fails it.
    """
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    user_model = get_user_model()
    user = None
    if user_id is not None:
        try:
            pk = user_model._meta.pk.to_python(user_id)
        except Exception:
            pk = None
        user = user_model._default_manager.filter(pk=pk).first() if pk is not None else None
    if user is None or not _session_hash_matches(session, user):
        return WebSocketAuth(AnonymousUser(), "session", PROBLEM_UNAUTHORIZED)
    if not user.is_active:
        return WebSocketAuth(user, "session", PROBLEM_INACTIVE)
    return WebSocketAuth(user, "session", session_key=session_key)


@connect_read
def authenticate(scope: dict[str, Any]) -> WebSocketAuth:
    """Authenticate a handshake by its token, else by its cookie from the site's own Origin."""
    subprotocols = list(scope.get("subprotocols") or [])
    echo = SUBPROTOCOL if SUBPROTOCOL in subprotocols else None
    raw_token = _offered_token(subprotocols)
    kind = scope.get("origin_kind") or origin_kind(scope)
    try:
        if kind == ORIGIN_FORBIDDEN:
            result = WebSocketAuth(AnonymousUser(), None, PROBLEM_UNAUTHORIZED)
        elif raw_token is not None and raw_token.startswith(integration_services.BOT_TOKEN_PREFIX):
            result = _bot_from_token(raw_token)
        elif raw_token is not None:
            result = _user_from_token(raw_token)
        elif kind == ORIGIN_SITE:
            result = _user_from_session(scope)
        else:
            result = WebSocketAuth(AnonymousUser(), None, PROBLEM_UNAUTHORIZED)
        member_channels, co_members = _connect_reads(result)
    except DATABASE_UNAVAILABLE:
        # The consumer answers with an `unavailable` error and closes with 4503.
        result = WebSocketAuth(AnonymousUser(), None, PROBLEM_UNAVAILABLE)
        member_channels, co_members = None, None
    return WebSocketAuth(
        result.user,
        result.method,
        result.problem,
        result.expires_at,
        echo,
        result.session_key,
        result.issued_at,
        member_channels,
        co_members,
        result.bot_token_id,
        result.channel_scope,
    )


def _connect_reads(
    result: WebSocketAuth,
) -> tuple[tuple[tuple[str, str, int], ...] | None, tuple[int, ...] | None]:
    """What the consumer needs first, read as the user while this thread has the database:
    one hop for the handshake instead of one per read."""
    if result.problem is not None or not result.user.is_authenticated:
        return None, None
    with rls.acting_as_user(result.user):
        channels, co_members = selectors.member_channels_and_co_members(user=result.user)
    listed = tuple((str(channel_id), name, last_seq) for channel_id, name, last_seq in channels)
    if result.channel_scope is not None:
        # A scoped bot token follows only its channels, and is told of no one elsewhere.
        listed = tuple(channel for channel in listed if channel[0] in result.channel_scope)
        return listed, ()
    return listed, tuple(co_members)


def seconds_left(auth: WebSocketAuth) -> float | None:
    """Seconds until the access token expires (None for a session)."""
    return None if auth.expires_at is None else auth.expires_at - time.time()


class WebSocketAuthMiddleware(BaseMiddleware):
    """Puts ``scope["auth"]`` (a WebSocketAuth) and ``scope["user"]`` on every handshake.

    At most CHAT_WS_CONNECTS_IN_FLIGHT handshakes of a process are worked on at once, from
    authentication until the application's first frame (the welcome, or the error before a
    close). When thousands of clients reconnect together (a deploy, a network drop), working
    on all of them at once made every one of them slower than Daphne's handshake timeout, and
    none finished; in turn, they finish at the rate the process can serve them, and those
    still waiting when their client gives up cost nothing (docs/performance.md, "Round 3:
    connects").
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        gate = connect_gate()
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        await gate.acquire()
        if loop.time() - queued_at > handshake_wait_limit():
            # Daphne has most likely given up on this handshake already: refuse it without
            # doing the work, and the client comes back after its back-off.
            gate.release()
            await send({"type": "websocket.close", "code": 1013})
            return None
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                gate.release()

        async def send_and_release(message: dict[str, Any]) -> None:
            if message.get("type") in ("websocket.send", "websocket.close"):
                release()
            await send(message)

        try:
            # The scope is the handshake's own (Daphne's), and every layer inside keeps a
            # reference for the connection's life: add to it rather than keep a copy.
            scope["auth"] = await authenticate(scope)
            scope["user"] = scope["auth"].user
            return await super().__call__(scope, receive, send_and_release)
        finally:
            release()


# A handshake that waited this long for its turn is refused at once: Daphne drops one that is
# not accepted within CHAT_WS_HANDSHAKE_SECONDS (chatsite/ws_server.py), and work for a client
# that is gone would only make the others wait longer. None: that time less
# HANDSHAKE_WORK_SECONDS, what the handshake's own work may take.
HANDSHAKE_WAIT_LIMIT_SECONDS: float | None = None
HANDSHAKE_WORK_SECONDS = 1.0


def handshake_wait_limit() -> float:
    """Seconds a handshake may wait for the gate before it is refused without work."""
    if HANDSHAKE_WAIT_LIMIT_SECONDS is not None:
        return HANDSHAKE_WAIT_LIMIT_SECONDS
    return max(1.0, float(settings.CHAT_WS_HANDSHAKE_SECONDS) - HANDSHAKE_WORK_SECONDS)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def connect_gate() -> asyncio.Semaphore:
    """The running loop's semaphore of handshakes in flight."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(max(1, settings.CHAT_WS_CONNECTS_IN_FLIGHT))
    return gate
