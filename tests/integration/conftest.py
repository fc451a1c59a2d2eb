"""Every event a consumer sends in these tests is checked against docs/asyncapi.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests import asyncapi


@pytest.fixture(autouse=True)
def events_match_the_protocol_document(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Wrap ChatConsumer.send: each text frame must be a message of docs/asyncapi.yaml.

    Failures are collected and reported when the test ends, so the socket behaves as it would
    without the check (a raise inside the consumer would close it with 1011 instead).
    """
    from chat.consumers import ChatConsumer

    found: list[str] = []
    send = ChatConsumer.send

    async def checked_send(
        self: Any, text_data: str | None = None, bytes_data: bytes | None = None, close: Any = False
    ) -> None:
        if text_data is not None:
            found.extend(asyncapi.problems(json.loads(text_data)))
        await send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(ChatConsumer, "send", checked_send)
    yield
    assert not found, "events not as docs/asyncapi.yaml says:\n" + "\n".join(found)
