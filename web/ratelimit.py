"""A fixed-window rate limit on the shared cache, for the sign-in and sign-up pages.

The cache is Redis when REDIS_URL is set, so every process counts together. Rates use DRF's
notation (``20/min``), read from ``CHAT_AUTH_RATE``.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from chatsite.cache import count_up
from chatsite.rates import parse_rate


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def retry_after(*, scope: str, ident: str, rate: str) -> int | None:
    """Count one attempt; the seconds to wait when it is over the rate, else None.

    The window opens with the first attempt and lasts the rate's period, so a burst that
    straddles a clock boundary is still one window.
    """
    limit, window = parse_rate(rate)
    now = time.time()
    key = f"web-rate:{scope}:{ident}"
    cache.add(f"{key}:start", now, timeout=window)
    if count_up(key, timeout=window) <= limit:
        return None
    started = cache.get(f"{key}:start", now)
    return max(1, math.ceil(window - (now - float(started))))


def auth_retry_after(request: HttpRequest, scope: str) -> int | None:
    """Count a sign-in or sign-up attempt from the request's client IP (``CHAT_AUTH_RATE``)."""
    return retry_after(scope=scope, ident=client_ip(request), rate=settings.CHAT_AUTH_RATE)
