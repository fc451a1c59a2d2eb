"""What Daphne's WebSocket side must do for chatsite, set from the application itself.

Daphne imports the application before it builds its WebSocket factory, which is what makes
these work without a custom launcher: every Daphne that loads ``chatsite.asgi`` gets them,
whatever its command line.

- **Frames over 16 KiB close with 1009** (docs/api.md, "Limits"). The check belongs in the
  server, before a big frame is even buffered. Daphne has options for the size
  (``--websocket-max-message-size``) but its WebSocket library (autobahn) then drops the TCP
  connection without a close frame (``failByDrop``), and refuses to send 1009 when the
  application asks for it. So: messages and frames up to MAX_FRAME_BYTES, and a real close
  frame with the reason's code when a connection fails.
- **Sending waits for a slow reader** (back-pressure). Daphne's ASGI ``send`` writes into the
  connection's Twisted transport and returns at once, so a client that stops reading makes the
  server buffer everything sent to it. Here ``send`` of a ``websocket.send`` returns only once
  the transport's write buffer is below Twisted's high-water mark (``bufferSize``, 64 KiB): a
  producer registered with the transport (Twisted's public IPushProducer contract) is paused
  when the buffer fills and resumed when it drains, and ``send`` waits while it is paused.
  A consumer writing a replay then holds at most one page in memory plus 64 KiB in the
  transport, however slowly its client reads (docs/performance.md, "Replays"). A send to a
  connection that is gone raises ClientGone, an OSError as the ASGI spec advises, so a
  consumer stops a replay to a client that left instead of reading it to the end.
- **An idle socket costs little.** Daphne's input queue of a WebSocket application is a
  ``SocketQueue`` (a list while frames wait, a future while the application waits) and the
  write gate a flag, not an ``asyncio.Queue`` and an ``asyncio.Event`` per connection.
- **Frames a consumer has not taken yet are bounded.** Daphne queues every incoming frame for
  the application without limit; while a consumer waits for a slow reader (above), a client
  that keeps sending would grow that queue for ever. Past MAX_QUEUED_FRAMES waiting frames
  (more than the consumer's burst allowance, so only a flood gets there) the connection is
  closed with 4429 and later frames are dropped: at most MAX_QUEUED_FRAMES x 16 KiB per
  connection.
- **A server-initiated close reaches the client.** autobahn gives the client one second to
  answer a close frame and then aborts the TCP connection, discarding whatever is still in
  the write buffer, the close frame included: a client busy flooding, or reading a backlog,
  saw 1006 instead of 4429. The close handshake gets CLOSE_HANDSHAKE_SECONDS, and when that
  runs out the connection is closed gracefully (the buffer, close frame included, is
  flushed first), and only aborted if even that does not finish within another
  CLOSE_HANDSHAKE_SECONDS.
- **A request body stays where Twisted put it until the application reads it.** Twisted
  keeps a body of more than 100 KB in a temporary file, but Daphne then reads all of it into
  the application's queue, chunk after chunk, before the application has taken the first one:
  a 25 MB upload cost the server 28 MB of memory. Here the queue keeps only the length of
  each chunk Daphne hands it and reads the bytes back from the body's file when the
  application asks for them, so one chunk at a time is in memory (docs/operations.md,
  "Uploads and memory").
- **Live frames can be written without a trip through the application** (``text_frame``,
  ``writable``, ``write``). The process-local fan-out (chat/fanout.py) builds a channel
  event's WebSocket frame once and writes it to each local socket's transport; each socket's
  scope carries its protocol (``PROTOCOL_SCOPE_KEY``). A socket takes a frame this way only
  while its write buffer has room, autobahn has nothing queued and compression is off;
  otherwise the frame goes the usual way, through ``send`` and its back-pressure.
- **Request bodies reach Django as they came.** Twisted's HTTP request parses form and
  multipart POST bodies itself (for its own ``request.args``, which Daphne never reads) and
  answers a malformed multipart body with a bare 400 before the application sees it. Daphne
  hands the raw body to Django anyway, so that parsing is switched off: the API answers such
  a body with its own 415 in the error shape (docs/api.md).
"""

from __future__ import annotations

import asyncio
import struct
from functools import partial
from typing import Any

MAX_FRAME_BYTES = 16 * 1024
MAX_QUEUED_FRAMES = 64
CLOSE_FLOODED = 4429
CLOSE_HANDSHAKE_SECONDS = 5.0
# Where a WebSocket scope carries its Daphne protocol, for ``writable`` and ``write``.
PROTOCOL_SCOPE_KEY = "chatsite.websocket_protocol"
# How often a send blocked on a full buffer checks that the connection is still there: a
# connection that autobahn drops unregisters the producer first, so no resume would come.
DRAIN_CHECK_SECONDS = 1.0


class ClientGone(OSError):
    """A WebSocket send to a connection that is closed."""


class WriteGate:
    """A streaming producer for one transport: open while its write buffer has room.

    A flag and, only while someone waits, a future: one per socket, so no ``asyncio.Event``
    (with its deque of waiters) for every idle connection."""

    __slots__ = ("_waiter", "paused")

    def __init__(self) -> None:
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None

    async def wait_open(self) -> None:
        """Return once the gate is open (a timeout around this leaves the gate as it is)."""
        while self.paused:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(waiter)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def stopProducing(self) -> None:
        self.resumeProducing()


class SocketQueue:
    """The input queue Daphne fills for a WebSocket's application (``websocket.connect``,
    each frame, ``websocket.disconnect``), read by that application alone.

    ``asyncio.Queue`` keeps three deques and an ``Event`` (about 3 kB) for every connection,
    idle or not; this keeps a list only while messages wait, and a future only while the
    application waits for one (docs/performance.md, "Round 3: memory per connection and
    churn")."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        items = self._items
        item = items.pop(0)  # at most MAX_QUEUED_FRAMES wait: a list will do
        if not items:
            self._items = None
        return item


def _write_gate(protocol: Any) -> WriteGate | None:
    gate: WriteGate | None = getattr(protocol, "chatsite_write_gate", None)
    if gate is None:
        transport = getattr(protocol, "transport", None)
        if transport is None:
            return None
        producer = getattr(transport, "producer", None)
        if producer is not None:
            if not _left_by_the_upgrade(producer):
                return None
            # The HTTP channel that handed the connection over to the WebSocket protocol is
            # still the transport's producer (Twisted's HTTPChannel registers itself on
            # connect, and Daphne's upgrade does not take it off): a full buffer would pause
            # it, which only stops reading. Replace it with the gate.
            if getattr(transport, "producerPaused", False):
                producer.resumeProducing()
            transport.unregisterProducer()
        gate = WriteGate()
        protocol.registerProducer(gate, True)
        protocol.chatsite_write_gate = gate
    return gate


def _left_by_the_upgrade(producer: Any) -> bool:
    try:
        from twisted.web.http import HTTPChannel
    except ImportError:  # pragma: no cover - Daphne always brings Twisted
        return False
    return isinstance(producer, HTTPChannel)


async def wait_until_drained(protocol: Any) -> None:
    """Return once ``protocol``'s transport buffer has room again, or the connection is gone."""
    gate = _write_gate(protocol)
    if gate is None:
        return
    while gate.paused and protocol.state != protocol.STATE_CLOSED:
        try:
            await asyncio.wait_for(gate.wait_open(), DRAIN_CHECK_SECONDS)
        except TimeoutError:
            continue


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame carrying ``payload`` (RFC 6455, 5.2), as a server sends
    it: the same bytes for every socket."""
    length = len(payload)
    if length <= 125:
        header = bytes((0x81, length))
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def protocol_of(scope: Any) -> Any:
    """The Daphne protocol of a WebSocket scope, or None (another server, a test client)."""
    return scope.get(PROTOCOL_SCOPE_KEY)


def writable(protocol: Any) -> bool:
    """Whether a frame written now goes out in order and without growing the buffer past
    its high-water mark: the connection is open, autobahn queued nothing of its own (a
    chopped or synced write), compression is off, and the write gate is open."""
    if (
        protocol.state != protocol.STATE_OPEN
        or protocol.send_queue
        or protocol._perMessageCompress is not None
    ):
        return False
    gate = _write_gate(protocol)
    return gate is not None and not gate.paused


def write(protocol: Any, frame: bytes) -> None:
    """Write a frame built by ``text_frame``; check ``writable`` first.

    When the transport holds nothing unsent (the usual case), the frame goes straight to the
    socket, as asyncio's own transports do: Twisted's ``write`` would register the socket
    with the event loop for writing, send on the next turn and unregister it again, two
    ``epoll_ctl`` calls and most of the cost of a delivery. Whatever the socket does not take
    at once goes through the transport, which sends it in order after.
    """
    transport = protocol.transport
    if (
        type(transport) in _PLAIN_TCP
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport.dataBuffer
        and not transport._tempDataBuffer
    ):
        try:
            sent = transport.socket.send(frame)
        except OSError:  # full (EAGAIN) or failing: the transport finds out and reports it
            sent = 0
        if sent == len(frame):
            return
        frame = frame[sent:]
    transport.write(frame)


def _plain_tcp_transports() -> tuple[type, ...]:
    try:
        from twisted.internet import tcp
    except ImportError:  # pragma: no cover - Daphne always brings Twisted
        return ()
    return (tcp.Server,)


_PLAIN_TCP = _plain_tcp_transports()


def configure_daphne(handshake_seconds: float = 0) -> None:
    """Install the behaviours above into Daphne (once per process); ``handshake_seconds``:
    the least time a WebSocket handshake may take before Daphne drops it."""
    try:
        from autobahn.exception import Disconnected
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    except ImportError:  # pragma: no cover - served by another ASGI server
        return
    if getattr(WebSocketFactory, "chatsite_limits", False):
        return
    _wait_longer_for_handshakes(Server, handshake_seconds)
    set_options = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self: Any, **options: Any) -> None:
        options.update(
            maxMessagePayloadSize=MAX_FRAME_BYTES,
            maxFramePayloadSize=MAX_FRAME_BYTES,
            failByDrop=False,
            closeHandshakeTimeout=CLOSE_HANDSHAKE_SECONDS,
        )
        set_options(self, **options)

    handle_reply = Server.handle_reply

    async def handle_reply_with_back_pressure(self: Any, protocol: Any, message: Any) -> None:
        try:
            await handle_reply(self, protocol, message)
        except Disconnected as exc:
            # autobahn refuses a send on a connection that closed meanwhile (a client that
            # left right after the welcome): the application hears of it as ClientGone, not
            # as a crash that Daphne logs with a traceback, once per such connect.
            raise ClientGone("the WebSocket connection is closed") from exc
        if message.get("type") == "websocket.send" and isinstance(protocol, WebSocketProtocol):
            await wait_until_drained(protocol)
            if protocol.state == protocol.STATE_CLOSED:
                raise ClientGone("the WebSocket connection is closed")

    def on_close_handshake_timeout(self: Any) -> None:
        # autobahn's own handler aborts, throwing away the buffered close frame.
        self.closeHandshakeTimeoutCall = None
        if self.state == self.STATE_CLOSED:
            return
        self.wasClean = False
        self.wasNotCleanReason = "closing handshake timeout; closed after flushing"
        self.wasCloseHandshakeTimeout = True
        transport = self.transport
        self.dropConnection(abort=False)  # unregisters the producer, then loseConnection
        asyncio.get_event_loop().call_later(CLOSE_HANDSHAKE_SECONDS, _abort_if_open, transport)

    on_open = WebSocketProtocol.onOpen

    def on_open_forgetting_the_handshake(self: Any) -> None:
        on_open(self)
        _forget_the_handshake(self)

    on_message = WebSocketProtocol.onMessage

    def on_message_bounded(self: Any, payload: bytes, is_binary: bool) -> None:
        if getattr(self, "chatsite_flooded", False):
            return
        queue = getattr(self, "application_queue", None)
        if queue is not None and queue.qsize() >= MAX_QUEUED_FRAMES:
            self.chatsite_flooded = True
            self.sendClose(code=CLOSE_FLOODED, reason="too many frames waiting")
            return
        on_message(self, payload, is_binary)

    WebSocketFactory.setProtocolOptions = set_protocol_options
    WebSocketProtocol.onMessage = on_message_bounded
    WebSocketProtocol.onOpen = on_open_forgetting_the_handshake
    Server.handle_reply = handle_reply_with_back_pressure
    WebSocketProtocol.onCloseHandshakeTimeout = on_close_handshake_timeout
    _pass_request_bodies_through()
    _skip_debug_log_formatting()
    _read_bodies_when_asked()
    WebSocketFactory.chatsite_limits = True


def _wait_longer_for_handshakes(server_class: Any, least_seconds: float) -> None:
    """Give a WebSocket handshake at least ``least_seconds`` before Daphne drops it.

    Daphne drops a handshake that the application has not accepted within
    ``--websocket_connect_timeout`` (5 s by default; autobahn's opening-handshake timeout gets
    the same value). In a reconnect storm the connect gate (chat/ws_auth.py) has most
    handshakes wait for their turn; dropped after 5 s, each came back after its client's
    back-off and cost its HTTP parsing, upgrade and refusal again, which made the next ones
    wait longer still. A handshake that waits costs a socket and a suspended task.
    """
    if least_seconds <= 0:
        return
    server_init = server_class.__init__

    def init_with_handshake_time(self: Any, *args: Any, **kwargs: Any) -> None:
        server_init(self, *args, **kwargs)
        for name in ("websocket_connect_timeout", "websocket_handshake_timeout"):
            current = getattr(self, name, None)
            if isinstance(current, int | float) and 0 <= current < least_seconds:
                setattr(self, name, least_seconds)

    server_class.__init__ = init_with_handshake_time


class _Requested:
    """What Daphne still reads of a handshake's request once the socket is open: its path,
    for its log lines."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


# What autobahn keeps of the handshake it parsed, never read again once the socket is open.
_HANDSHAKE_LEFTOVERS = ("http_headers", "http_request_data", "http_response_data")


def _forget_the_handshake(protocol: Any) -> None:
    """Drop the parsed handshake (headers as a dict, the raw request and response) that
    autobahn and Daphne keep for the connection's life: a kilobyte or two per idle socket
    (docs/performance.md, "Round 3: memory per connection and churn"). The scope's own
    copy of the headers stays."""
    request = getattr(protocol, "request", None)
    if request is not None and not isinstance(request, _Requested):
        protocol.request = _Requested(request.path)
    for name in _HANDSHAKE_LEFTOVERS:
        if getattr(protocol, name, None) is not None:
            setattr(protocol, name, None)


class BodyQueue(asyncio.Queue):
    """The input queue of an HTTP request's application that reads the body from ``content``
    (the file or buffer Twisted keeps it in) as the application takes it, in the order and
    sizes Daphne put it in."""

    def __init__(self, content: Any) -> None:
        super().__init__()
        self._content = content
        self._offset = 0

    def put_nowait(self, item: Any) -> None:
        if item.get("type") == "http.request":
            # Only the length: the bytes are read again on get(), so Daphne's copy is dropped.
            item = {**item, "body": len(item["body"])}
        super().put_nowait(item)

    async def get(self) -> Any:
        item = await super().get()
        if item.get("type") != "http.request":
            return item
        length = item["body"]
        try:
            self._content.seek(self._offset)
            body = self._content.read(length)
        except ValueError:  # the file is closed: the client went away
            return {"type": "http.disconnect"}
        self._offset += length
        return {**item, "body": body}


def _read_bodies_when_asked() -> None:
    from daphne.server import Server

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        # Daphne's own, with a BodyQueue for HTTP (daphne/server.py, Server.create_application).
        assert "application_instance" not in self.connections[protocol]
        content = getattr(protocol, "content", None)
        queue: Any
        scope.setdefault("asgi", {"version": "3.0"})
        if scope.get("type") == "websocket":
            queue = SocketQueue()
            scope[PROTOCOL_SCOPE_KEY] = protocol
        elif content is not None:
            queue = BodyQueue(content)
        else:
            queue = asyncio.Queue()
        instance = self.application(
            scope=scope, receive=queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return queue

    Server.create_application = create_application


def _skip_debug_log_formatting() -> None:
    """autobahn builds the arguments of its debug log lines (coloured type names, a
    pretty-printed dict of the connection) on every handshake and close, whether debug
    logging is on or not: a few percent of a connect's CPU (docs/performance.md, "Round 3:
    connects"). Unless txaio logs at debug level, those helpers return an empty string."""
    import txaio
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    if getattr(txaio, "get_global_log_level")() in ("debug", "trace"):  # noqa: B009 (untyped)
        return

    def unformatted(*_args: Any, **_kwargs: Any) -> str:
        return ""

    for module in (protocol, twisted_websocket):
        for name in ("hltype", "hlval", "pformat"):
            if hasattr(module, name):
                setattr(module, name, unformatted)


def _pass_request_bodies_through() -> None:
    from daphne.http_protocol import WebRequest

    init = WebRequest.__init__

    def init_without_form_parsing(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = init_without_form_parsing


def _abort_if_open(transport: Any) -> None:
    """A client that reads nothing at all cannot hold the connection open for ever."""
    if not getattr(transport, "disconnected", True):
        transport.abortConnection()
