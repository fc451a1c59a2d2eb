"""Daphne's WebSocket options that chatsite sets from the application (chatsite/ws_server.py)."""

from __future__ import annotations

from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
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
