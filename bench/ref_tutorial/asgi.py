"""ASGI entry point of the tutorial-shaped reference (as in the tutorial's mysite/asgi.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.ref_tutorial.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from bench.ref_tutorial.consumers import ChatConsumer  # noqa: E402

websocket_urlpatterns = [re_path(r"ws/chat/(?P<room_name>\w+)/$", ChatConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
