"""Settings of the tutorial-shaped reference project (no database, Redis channel layer)."""

import os
import secrets

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(64)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["daphne", "channels"]
ROOT_URLCONF = "bench.ref_tutorial.urls"
ASGI_APPLICATION = "bench.ref_tutorial.asgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # The tutorial gives just the address. The pool options are the fix from
            # docs/operations.md, "Scaling out" (redis-py's pool raises past 100
            # connections, and its 5 s socket timeout races the layer's 5 s blocking
            # read); without them the reference itself loses clients at 1000
            # subscribers, which would flatter chatsite.
            "hosts": [
                {
                    "address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
                    "max_connections": 10_000,
                    "socket_timeout": 15,
                }
            ],
            "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "bench-tutorial"),
        },
    }
}
