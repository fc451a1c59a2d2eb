"""Daphne's WebSocket options that chatsite sets from the application (chatsite/ws_server.py)."""

from __future__ import annotations

from daphne.ws_protocol import WebSocketFactory

import chatsite.asgi  # noqa: F401 (loading the application configures Daphne)
from chatsite import ws_server


def test_daphne_refuses_frames_over_16_kib_with_a_close_frame() -> None:
    ws_server.configure_daphne()  # a second call changes nothing
    factory = WebSocketFactory(None)
    factory.setProtocolOptions(maxMessagePayloadSize=1024 * 1024, maxFramePayloadSize=1024 * 1024)
    assert factory.maxMessagePayloadSize == factory.maxFramePayloadSize == 16 * 1024
    assert factory.failByDrop is False  # send 1009, do not just drop the TCP connection
    # A client busy with a backlog gets time to read up to the close frame.
    assert factory.closeHandshakeTimeout == ws_server.CLOSE_HANDSHAKE_SECONDS
