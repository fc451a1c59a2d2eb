"""chatsite.body_limit: bodies over a path's limit are refused with 413 in front of the app."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from chatsite.body_limit import BodyLimitMiddleware, limit_for


class App:
    """An ASGI app that reads the whole body and answers with its length."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def _call(path: str, chunks: list[bytes], headers: list[Any] | None = None) -> tuple:
    app = App()
    sent: list[dict[str, Any]] = []
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "path": path, "headers": headers or []}
    await BodyLimitMiddleware(app)(scope, receive, send)
    status = sent[0]["status"] if sent else None
    return status, sent, app.bodies, len(received)


@pytest.fixture(autouse=True)
def _small_limit(settings: Any) -> None:
    settings.CHAT_HOOK_MAX_BYTES = 10


def test_limits_apply_by_path_prefix() -> None:
    assert limit_for("/api/hooks/abc/") == 10
    assert limit_for("/api/chat/messages/") is None


async def test_a_declared_length_over_the_limit_is_413_unread() -> None:
    status, sent, bodies, reads = await _call(
        "/api/hooks/t/", [b"x" * 50], [(b"content-length", b"50")]
    )
    assert status == 413 and bodies == [] and reads == 0
    assert json.loads(sent[1]["body"])["error"]["code"] == "too_large"


async def test_an_undeclared_body_is_refused_once_it_passes_the_limit() -> None:
    status, _, bodies, reads = await _call("/api/hooks/t/", [b"x" * 6, b"x" * 6, b"x" * 6])
    assert status == 413 and bodies == [] and reads == 2


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    status, sent, bodies, _ = await _call("/api/hooks/t/", [b"abc", b"def"])
    assert status == 200 and bodies == [b"abcdef"] and sent[1]["body"] == b"6"


async def test_other_paths_and_a_client_that_left_are_left_alone() -> None:
    status, _, bodies, _ = await _call("/api/chat/messages/", [b"x" * 50])
    assert status == 200 and bodies == [b"x" * 50]
    status, sent, bodies, _ = await _call("/api/hooks/t/", [])
    assert status is None and sent == [] and bodies == []
