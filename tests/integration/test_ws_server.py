"""Daphne's WebSocket options that chatsite sets from the application (chatsite/ws_server.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from autobahn.exception import Disconnected
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings

import chatsite.asgi  # noqa: F401 (loading the application configures Daphne)
from chatsite import ws_server

ENDPOINT = "tcp:port=0:interface=127.0.0.1"  # never listened on: the server does not run


def test_a_handshake_may_wait_for_its_turn_longer_than_daphnes_default() -> None:
    """In a reconnect storm a handshake waits for the connect gate (chat/ws_auth.py); Daphne's
    5-s default would drop it, and its client would come back and cost the work again."""
    least = settings.CHAT_WS_HANDSHAKE_SECONDS
    assert least > 5
    default = Server(None, [ENDPOINT], websocket_connect_timeout=5, websocket_handshake_timeout=5)
    assert default.websocket_connect_timeout == default.websocket_handshake_timeout == least
    # A longer time from the command line, or none at all (-1), is kept.
    longer = Server(None, [ENDPOINT], websocket_connect_timeout=least + 60)
    assert longer.websocket_connect_timeout == least + 60
    unbounded = Server(None, [ENDPOINT], websocket_connect_timeout=-1)
    assert unbounded.websocket_connect_timeout == -1


def test_daphne_refuses_frames_over_16_kib_with_a_close_frame() -> None:
    ws_server.configure_daphne()  # a second call changes nothing
    factory = WebSocketFactory(None)
    factory.setProtocolOptions(maxMessagePayloadSize=1024 * 1024, maxFramePayloadSize=1024 * 1024)
    assert factory.maxMessagePayloadSize == factory.maxFramePayloadSize == 16 * 1024
    assert factory.failByDrop is False  # send 1009, do not just drop the TCP connection
    # A client busy with a backlog gets time to read up to the close frame.
    assert factory.closeHandshakeTimeout == ws_server.CLOSE_HANDSHAKE_SECONDS


async def test_the_socket_queue_hands_over_in_order_and_keeps_nothing_while_empty() -> None:
    queue = ws_server.SocketQueue()
    assert queue.empty() and queue.qsize() == 0
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait({"n": 1})
    queue.put_nowait({"n": 2})
    assert queue.qsize() == 2  # the first is not taken until the reader runs
    assert await waiting == {"n": 1}
    assert await queue.get() == {"n": 2}
    assert queue._items is None and queue.empty()
    # A reader cancelled while waiting leaves the queue usable.
    cancelled = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    later = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait({"n": 3})
    assert await asyncio.wait_for(later, 1) == {"n": 3}


async def test_the_write_gate_lets_waiters_through_when_resumed() -> None:
    gate = ws_server.WriteGate()
    await asyncio.wait_for(gate.wait_open(), 1)  # open: no wait
    gate.pauseProducing()
    waiting = asyncio.ensure_future(gate.wait_open())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(waiting), 0.05)
    gate.resumeProducing()
    await asyncio.wait_for(waiting, 1)
    gate.pauseProducing()
    gate.stopProducing()
    assert not gate.paused


async def test_a_send_on_a_connection_closed_meanwhile_is_client_gone() -> None:
    ws_server.configure_daphne()
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    server = SimpleNamespace(connections={protocol: {}}, check_headers_type=lambda message: None)

    def handle_reply(message: Any) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    protocol.handle_reply = handle_reply
    with pytest.raises(ws_server.ClientGone):
        await Server.handle_reply(server, protocol, {"type": "websocket.send", "text": "{}"})


def test_an_open_socket_forgets_its_parsed_handshake() -> None:
    protocol = SimpleNamespace(
        request=SimpleNamespace(path="/ws/chat/", headers={"host": "x"}),
        http_headers={"host": "x"},
        http_request_data=b"GET /ws/chat/ HTTP/1.1",
        http_response_data=b"HTTP/1.1 101",
    )
    ws_server._forget_the_handshake(protocol)
    assert protocol.request.path == "/ws/chat/"
    assert not hasattr(protocol.request, "headers")
    assert protocol.http_headers is protocol.http_request_data is protocol.http_response_data
    assert protocol.http_headers is None
