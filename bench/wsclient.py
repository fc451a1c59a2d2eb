"""WebSocket clients of the benchmarks: one way to connect to chatsite and to each reference.

A connection is "ready" when the server has said so: chatsite's ``welcome`` and then
``subscribed`` for the channel under test; the references' ``welcome`` (sent once the
connection is registered or in the group). Every connection then has a reader task, so frames
never pile up in the client and the server never sees backpressure from it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

# Frames are matched with regular expressions instead of being decoded: at thousands of
# deliveries a second the client's own CPU matters. The shapes are chatsite's
# ``message.created`` (or the same shape relayed by a reference, possibly re-encoded with
# spaces after separators).
CREATED_MARK = '"message.created"'
SEQ_RE = re.compile(r'"seq": ?(\d+)')
INDEX_RE = re.compile(r'"content": ?"bench (\d+) ')

T = TypeVar("T")

KINDS = ("chatsite", "tutorial", "websockets")


@dataclass
class Endpoint:
    """How to reach one server of a target."""

    kind: str  # one of KINDS
    url: str  # ws://127.0.0.1:<port>
    channel_id: str = ""  # chatsite: the channel under test; tutorial: the room name
    query: str = ""  # chatsite: e.g. "presence=batch" (batched presence events)

    def path(self) -> str:
        if self.kind == "chatsite":
            return "/ws/chat/" + (f"?{self.query}" if self.query else "")
        if self.kind == "tutorial":
            return f"/ws/chat/{self.channel_id or 'bench'}/"
        return "/"


@dataclass
class Deliveries:
    """What the subscribers received: the arrival time of each (message index, subscriber)."""

    arrivals: list[tuple[int, int, float]] = field(default_factory=list)  # index, sub, t
    seqs: dict[int, list[int]] = field(default_factory=dict)  # sub -> seqs in arrival order
    other_frames: int = 0
    errors: list[str] = field(default_factory=list)
    watch_from: int = 0  # arrivals of messages with index >= watch_from are counted ...
    watched: int = 0  # ... here, so a phase can wait for all of its own deliveries

    def record(self, subscriber: int, frame: str, now: float) -> None:
        if CREATED_MARK not in frame:
            self.other_frames += 1
            if '"error"' in frame:
                self.errors.append(frame[:300])
            return
        index_match = INDEX_RE.search(frame)
        seq_match = SEQ_RE.search(frame)
        if index_match is None or seq_match is None:
            self.errors.append(f"unparsed frame: {frame[:200]}")
            return
        index = int(index_match.group(1))
        self.arrivals.append((index, subscriber, now))
        if index >= self.watch_from:
            self.watched += 1
        self.seqs.setdefault(subscriber, []).append(int(seq_match.group(1)))


async def open_connection(
    endpoint: Endpoint, token: str = "", *, timeout: float = 60.0
) -> ClientConnection:
    """Open a connection the way a native client would, without compression or proxies."""
    subprotocols: list[Subprotocol] | None = None
    origin = None
    if endpoint.kind == "chatsite":
        subprotocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{token}")]
    elif endpoint.kind == "tutorial":
        # The tutorial's AllowedHostsOriginValidator wants the page's Origin, as a browser sends.
        origin = endpoint.url.replace("ws://", "http://")
    return await connect(
        endpoint.url + endpoint.path(),
        subprotocols=subprotocols,
        origin=origin,  # type: ignore[arg-type]
        compression=None,
        proxy=None,
        open_timeout=timeout,
        ping_interval=None,
        max_queue=None,
        max_size=2**20,
    )


async def wait_for_frame(
    connection: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """Read frames until one matches, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no matching frame")
        frame = await asyncio.wait_for(connection.recv(), remaining)
        event = json.loads(frame)
        if event.get("type") == "error":
            raise RuntimeError(f"server error: {frame[:300]!r}")
        if predicate(event):
            return dict(event)


async def make_ready(
    connection: ClientConnection,
    endpoint: Endpoint,
    *,
    timeout: float = 60.0,
    subscribe: bool = True,
) -> dict[str, Any]:
    """Wait until the server will deliver to this connection; returns the welcome event."""
    welcome = await wait_for_frame(connection, lambda e: e.get("type") == "welcome", timeout)
    if endpoint.kind == "chatsite" and endpoint.channel_id and subscribe:
        await connection.send(json.dumps({"type": "subscribe", "channel_id": endpoint.channel_id}))
        await wait_for_frame(
            connection,
            lambda e: e.get("type") == "subscribed" and e.get("channel_id") == endpoint.channel_id,
            timeout,
        )
    return welcome


@dataclass
class Opened:
    """A ready connection, how long it took, and how many attempts failed first."""

    connection: ClientConnection
    handshake_s: float  # from the TCP connect to the 101 answer (last attempt)
    ready_s: float  # to the server's welcome (and subscribed), from the first attempt
    failed_attempts: int


async def open_ready(
    endpoint: Endpoint, token: str = "", *, subscribe: bool = True, attempts: int = 5
) -> Opened:
    """Open and make ready, trying again when the server drops the handshake.

    Daphne closes a socket whose application has not accepted it within 5 s
    (``--websocket_connect_timeout``), which happens when a server is swamped; a browser
    would reconnect, and so does the benchmark, counting the failed attempts.
    """
    clock = time.perf_counter
    started = clock()
    failures = 0
    while True:
        attempt_started = clock()
        try:
            connection = await open_connection(endpoint, token)
            handshake = clock() - attempt_started
            await make_ready(connection, endpoint, subscribe=subscribe)
            return Opened(connection, handshake, clock() - started, failures)
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed):
            failures += 1
            if failures >= attempts:
                raise
            await asyncio.sleep(0.5 * failures)


async def try_open_ready(
    endpoint: Endpoint, token: str = "", *, subscribe: bool = True
) -> Opened | None:
    """``open_ready``, or None when every attempt failed (the caller counts those)."""
    try:
        return await open_ready(endpoint, token, subscribe=subscribe)
    except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed):
        return None


async def read_into(connection: ClientConnection, subscriber: int, sink: Deliveries) -> None:
    """The reader task of one subscriber; ends when the connection closes."""
    clock = time.perf_counter
    try:
        async for frame in connection:
            if isinstance(frame, str):
                sink.record(subscriber, frame, clock())
    except ConnectionClosed:
        pass


async def drain(connection: ClientConnection) -> None:
    """Read and drop frames until the connection closes (a sender's acks and echoes)."""
    try:
        async for _frame in connection:
            pass
    except ConnectionClosed:
        pass


def send_frame(endpoint: Endpoint, index: int, padding: str) -> str:
    """The frame a sender sends for message ``index``.

    chatsite gets ``message.send`` and makes the event itself. The references only relay, so
    the sender sends the event they should deliver, in chatsite's shape and size.
    """
    content = f"bench {index} {padding}"
    if endpoint.kind == "chatsite":
        return json.dumps(
            {
                "type": "message.send",
                "channel_id": endpoint.channel_id,
                "content": content,
                "client_id": str(uuid.uuid4()),
            }
        )
    message_id = str(uuid.uuid4())
    return json.dumps(
        {
            "type": "message.created",
            "seq": index + 1,
            "message": {
                "id": message_id,
                "channel_id": "00000000-0000-0000-0000-000000000000",
                "user_id": "1",
                "content": content,
                "created_at": "2026-01-01T00:00:00.000000Z",
                "edited_at": None,
                "deleted": False,
                "seq": index + 1,
                "change_seq": index + 1,
                "client_id": str(uuid.uuid4()),
                "author": {"id": "1", "username": "bench0", "display_name": "bench0"},
            },
        },
        separators=(",", ":"),
    )


async def gather_limited(
    function: Callable[[int], Awaitable[T]], count: int, concurrency: int
) -> list[T]:
    """``function(0) .. function(count - 1)`` with at most ``concurrency`` running at once."""
    semaphore = asyncio.Semaphore(concurrency)

    async def run(i: int) -> T:
        async with semaphore:
            return await function(i)

    return list(await asyncio.gather(*(run(i) for i in range(count))))
