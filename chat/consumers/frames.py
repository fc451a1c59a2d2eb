"""Frames from the client: size and rate limits, decoding, and the fields they carry.

Everything here answers a bad frame with an exception the consumer turns into an ``error``
event (docs/api.md); none of it touches the database or the layer.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from chat import selectors
from chat.exceptions import ValidationError

MAX_FRAME_BYTES = 16 * 1024

# Channels one ping may ask about (``{"type": "ping", "channels": [...]}``).
MAX_PING_CHANNELS = 500
# A JSON string escape of a UTF-16 surrogate: the only way valid UTF-8 text decodes to a
# string that cannot be encoded again (a lone surrogate), so only then is it checked.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

# Rate-limit errors within FLOOD_WINDOW_SECONDS of each other before the socket is closed.
FLOOD_STRIKES = 10
FLOOD_WINDOW_SECONDS = 10.0


class BadFrame(Exception):
    """A frame that is not a JSON object with a string ``type`` (code ``bad_request``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TokenBucket:
    """``capacity`` actions at once, refilled at ``per_second``."""

    __slots__ = ("capacity", "per_second", "tokens", "updated")  # two per socket

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def too_big(text: str | None, data: bytes | None) -> bool:
    """Whether a frame is over MAX_FRAME_BYTES (text counted in UTF-8 bytes)."""
    if text is None:
        return len(data or b"") > MAX_FRAME_BYTES
    size = len(text)
    if size * 4 > MAX_FRAME_BYTES:
        size = len(text.encode("utf-8"))
    return size > MAX_FRAME_BYTES


def decode(text: str) -> tuple[str, dict[str, Any]]:
    """A text frame's ``type`` and content; BadFrame if it is not a JSON object with one."""
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        raise BadFrame("Frames must be JSON objects.") from None
    if not _is_encodable(text, content):
        raise BadFrame("Frames must be valid Unicode text (no lone surrogates).")
    kind = content.get("type") if isinstance(content, dict) else None
    if not isinstance(kind, str):
        raise BadFrame("A frame needs a string type.")
    return kind, content


def _is_encodable(text: str, content: Any) -> bool:
    """False if the frame holds a lone surrogate, raw or escaped: PostgreSQL, the channel
    layer and the socket all refuse it, so it is refused here with the other bad frames."""
    try:
        text.encode("utf-8")
        if SURROGATE_ESCAPE.search(text):
            json.dumps(content, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ref(kind: str, content: dict[str, Any]) -> str:
    """What an error event names as its cause: a message's client_id, or the frame type."""
    client_id = content.get("client_id")
    if kind == "message.send" and isinstance(client_id, str) and client_id:
        return client_id[:64]
    return kind


def channel_id(content: dict[str, Any]) -> str:
    return str(selectors.as_uuid(content.get("channel_id"), field="channel_id"))


def since_seq(content: dict[str, Any]) -> int | None:
    value = content.get("since_seq")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problem = "since_seq must be a non-negative integer."
        raise ValidationError(problem, fields={"since_seq": [problem]})
    return value


def channel_ids(content: dict[str, Any]) -> list[str]:
    """A ping's ``channels``: a list of at most MAX_PING_CHANNELS channel ids."""
    value = content.get("channels")
    problem = f"channels must be a list of at most {MAX_PING_CHANNELS} channel ids."
    if not isinstance(value, list) or len(value) > MAX_PING_CHANNELS:
        raise ValidationError(problem, fields={"channels": [problem]})
    try:
        return [str(selectors.as_uuid(item, field="channels")) for item in value]
    except ValidationError:
        raise ValidationError(problem, fields={"channels": ["Must be channel ids."]}) from None
