"""Close codes of /ws/chat/ (docs/api.md) and closing a socket when Redis or PostgreSQL is
away."""

from __future__ import annotations

import asyncio
from typing import Any

from chat import events
from chatsite.cache import REDIS_UNAVAILABLE
from chatsite.overload import DATABASE_UNAVAILABLE

CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_SOCKETS = 4408
CLOSE_FLOODED = 4429
CLOSE_UNAVAILABLE = 4503  # the database or Redis is away: reconnect after a pause

# PostgreSQL or Redis is away: the operation is answered with an ``unavailable`` error event
# and the socket stays open (docs/api.md); a connect that cannot be served closes with 4503.
OUTAGE_ERRORS = (*DATABASE_UNAVAILABLE, *REDIS_UNAVAILABLE)
UNAVAILABLE_DETAIL = "The server cannot reach its database or message bus. Try again shortly."


async def close_unavailable(
    receive: Any, send: Any, accepted: bool, subprotocol: str | None
) -> None:
    """At the ASGI level, what ``connect`` does when the database is away: accept (unless
    done), send an ``unavailable`` error event, close with 4503."""
    if not accepted:
        try:
            message = await asyncio.wait_for(receive(), timeout=5)
        except TimeoutError:
            return
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
    ref = "layer" if accepted else "connect"
    event = events.error_event("unavailable", UNAVAILABLE_DETAIL, ref)
    await send({"type": "websocket.send", "text": events.encode(event)})
    await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
