"""The WebSocket consumer of /ws/chat/ (the protocol: docs/api.md and docs/asyncapi.yaml).

- ``consumer``: ``ChatConsumer``, one per socket: connect, frames, layer events, rights;
- ``frames``: limits and decoding of client frames, and the fields they carry;
- ``database``: the consumer's database hops (one per operation) and replayed changes;
- ``closes``: close codes, and closing when Redis or PostgreSQL is away.
"""

from chat.consumers.closes import (
    CLOSE_FLOODED,
    CLOSE_FORBIDDEN,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNAVAILABLE,
)
from chat.consumers.consumer import ChatConsumer
from chat.consumers.frames import MAX_FRAME_BYTES, TokenBucket

__all__ = [
    "CLOSE_FLOODED",
    "CLOSE_FORBIDDEN",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_TOO_MANY_SOCKETS",
    "CLOSE_UNAUTHORIZED",
    "CLOSE_UNAVAILABLE",
    "MAX_FRAME_BYTES",
    "ChatConsumer",
    "TokenBucket",
]
