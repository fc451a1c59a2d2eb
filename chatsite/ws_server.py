"""What Daphne's WebSocket side must do for chatsite, set from the application itself.

DESIGN §6: a frame over 16 KiB closes the connection with 1009 (message too big). The check
belongs in the server, before a big frame is even buffered, and Daphne has options for the size
(``--websocket-max-message-size``) but its WebSocket library (autobahn) then drops the TCP
connection without a close frame (``failByDrop``), and refuses to send 1009 when the
application asks for it. So every Daphne that loads ``chatsite.asgi`` gets, whatever its command
line: messages and frames up to MAX_FRAME_BYTES, and a real close frame with the reason's code
when a connection fails. Daphne imports the application before it builds its WebSocket factory,
which is what makes this work without a custom launcher.
"""

from __future__ import annotations

from typing import Any

MAX_FRAME_BYTES = 16 * 1024


def configure_daphne() -> None:
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # pragma: no cover - served by another ASGI server
        return
    if getattr(WebSocketFactory, "chatsite_limits", False):
        return
    set_options = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self: Any, **options: Any) -> None:
        options.update(
            maxMessagePayloadSize=MAX_FRAME_BYTES,
            maxFramePayloadSize=MAX_FRAME_BYTES,
            failByDrop=False,
        )
        set_options(self, **options)

    WebSocketFactory.setProtocolOptions = set_protocol_options
    WebSocketFactory.chatsite_limits = True
