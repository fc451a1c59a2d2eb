"""One log line per WebSocket session: an ASGI middleware around the WebSocket stack.

``chatsite.asgi`` wraps the whole WebSocket stack in :class:`WebSocketSessionLogMiddleware`
(outside the origin validator, so refused handshakes are logged too) and puts
:class:`WebSocketUserRecorder` just inside the authentication middleware, where
``scope["user"]`` is known. For each session the outer part binds a request id (the
handshake's ``X-Request-ID`` when plain, otherwise a new UUID) to structlog's context, watches
the accept and close messages, and when the session ends logs ``websocket_session`` with
path, request_id, user_id, auth (token or session), accepted, close_code, closed_by (server
or client) and duration_ms.

Nothing from the handshake headers is logged: the subprotocol list may carry
``bearer.<JWT>`` and the cookie header a session id.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

import structlog

from chatsite import metrics
from chatsite.request_log import clean_request_id

logger = structlog.get_logger("chatsite.ws")

_session: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "chatsite_ws_session", default=None
)


def _log_id(pk: Any) -> Any:
    """The user id as the request lines write it (django-structlog): ints stay ints."""
    return pk if isinstance(pk, int) else str(pk)


def bind_user(user: Any, auth_method: str | None = None) -> None:
    """Record the user of the current WebSocket session (no-op outside one)."""
    user_id = _log_id(user.pk) if getattr(user, "is_authenticated", False) else None
    session = _session.get()
    if session is not None:
        session["user_id"] = user_id
        session["auth"] = auth_method
    structlog.contextvars.bind_contextvars(user_id=user_id)


class WebSocketUserRecorder:
    """Inner half: notes ``scope["user"]`` (and how it signed in) for the session line."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            bind_user(scope.get("user"), getattr(scope.get("auth"), "method", None))
        return await self.inner(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class WebSocketSessionLogMiddleware:
    """ASGI middleware; HTTP and lifespan scopes pass straight through."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)

        request_id = clean_request_id(_header(scope, b"x-request-id"))
        session: dict[str, Any] = {
            "user_id": None,
            "auth": None,
            "accepted": False,
            "close_code": None,
            "closed_by": None,
        }
        started = time.monotonic()

        async def send_logged(message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == "websocket.accept":
                session["accepted"] = True
                metrics.SOCKETS_OPEN.inc()
            elif kind == "websocket.close" and session["close_code"] is None:
                session["close_code"] = message.get("code", 1000)
                session["closed_by"] = "server"
            await send(message)

        async def receive_logged() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message.get("type") == "websocket.disconnect" and session["close_code"] is None:
                session["close_code"] = message.get("code", 1005)
                session["closed_by"] = "client"
            return message

        token = _session.set(session)
        outcome = "closed"
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    return await self.inner(scope, receive_logged, send_logged)
                except BaseException:
                    outcome = "error"
                    raise
                finally:
                    if session["accepted"]:
                        metrics.SOCKETS_OPEN.dec()
                    logger.info(
                        "websocket_session",
                        path=scope.get("path", ""),
                        request_id=request_id,
                        user_id=session["user_id"],
                        auth=session["auth"],
                        accepted=session["accepted"],
                        close_code=session["close_code"],
                        closed_by=session["closed_by"],
                        outcome=outcome,
                        duration_ms=round((time.monotonic() - started) * 1000, 2),
                    )
        finally:
            _session.reset(token)
