"""Request body limits for some paths, enforced in front of Django (chatsite/asgi.py).

Django's ASGI handler reads a whole body into a temporary file before any view runs, so a view
cannot refuse a 10 MB body "before reading it". This wrapper answers 413 in the API's error
shape by the ``Content-Length`` header alone, or, without one, as soon as the body read so far
passes the limit. ``REQUEST_BODY_LIMITS`` maps a path prefix to the name of the setting that
holds its limit in bytes (docs/operations.md); other paths pass untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from chatsite.api_errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[..., Awaitable[None]]


def limit_for(path: str) -> int | None:
    for prefix, setting in settings.REQUEST_BODY_LIMITS.items():
        if path.startswith(prefix):
            return int(getattr(settings, setting))
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(error_body("too_large", f"The body is over {limit} bytes.")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        # Read the body here, at most limit + 1 bytes of it, and hand it on as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
