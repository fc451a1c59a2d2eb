"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os
import sys

import django

from chatsite import memory

# Allocation tracing for memory benchmarks, off unless asked for (chatsite/memory.py).
memory.install()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

# Set up Django (apps, models) before importing anything that touches models.
django.setup(set_prefix=False)

from chatsite.http_handler import BoundedASGIHandler  # noqa: E402

# Django's handler on a fixed set of request threads, with a bound on requests in flight
# (chatsite/http_handler.py).
django_asgi_app = BoundedASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.realtime import Serving  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.ws_auth import ChatOriginValidator, WebSocketAuthMiddleware  # noqa: E402
from chatsite.body_limit import BodyLimitMiddleware  # noqa: E402
from chatsite.serving import refuse_public_debug_server  # noqa: E402
from chatsite.ws_logging import WebSocketSessionLogMiddleware, WebSocketUserRecorder  # noqa: E402
from chatsite.ws_server import configure_daphne  # noqa: E402

# With DEBUG on, a Daphne command line may listen on loopback addresses only.
refuse_public_debug_server(sys.argv)

# Frames over 16 KiB close with 1009, enforced by Daphne itself, and a handshake may wait
# CHAT_WS_HANDSHAKE_SECONDS for its turn (chatsite/ws_server.py).
configure_daphne(handshake_seconds=settings.CHAT_WS_HANDSHAKE_SECONDS)

# The WebSocket stack, outermost first:
# - ChatOriginValidator refuses a handshake from a foreign Origin, so a cross-site page can
#   never ride on a visitor's session cookie (Channels' AllowedHostsOriginValidator, which
#   would also refuse native clients that send no Origin at all: see chat/ws_auth.py);
# - WebSocketAuthMiddleware finds the user by access token (subprotocol) or session cookie.
websocket_app = WebSocketSessionLogMiddleware(  # one log line per session (chatsite.ws_logging)
    ChatOriginValidator(
        WebSocketAuthMiddleware(WebSocketUserRecorder(URLRouter(websocket_urlpatterns)))
    )
)

# Serving binds the process's real-time state (layer, Redis client, keep-alive, presence
# outbox) to the server's event loop on the first connection or request (chat/realtime.py).
# Some paths refuse a large body before Django reads it (chatsite/body_limit.py).
application = Serving(
    ProtocolTypeRouter({"http": BodyLimitMiddleware(django_asgi_app), "websocket": websocket_app})
)

# What is loaded by now lives as long as the process. Frozen, it stays out of the garbage
# collector's full passes, which otherwise walk all of Django's ~135,000 objects: a pause of
# tens of milliseconds in the middle of whatever request triggered it (docs/performance.md).
gc.freeze()

# Each request's sync part runs in a thread. A thread back from a database round trip waits
# for the GIL until the thread holding it lets go, after up to the switch interval (5 ms by
# default): seven round trips per post could each wait that long behind other requests.
sys.setswitchinterval(settings.SWITCH_INTERVAL_SECONDS)
