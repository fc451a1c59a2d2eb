"""Rate limits of the REST API, counted in the Django cache (Redis when REDIS_URL is set).

Each limit is a fixed window: one counter per client and window, raised and given its expiry
in one atomic round trip to Redis (``chatsite.cache.count_up``), so every process serving the
API counts into the same number. DRF's own throttles keep a list of timestamps that they read and
rewrite, which loses counts when two processes write at once.

The rates are read from settings on every request (CHAT_MESSAGE_RATE, CHAT_AUTH_RATE), so
tests and operators can change them without a restart of the module.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from chatsite.cache import count_up
from chatsite.rates import parse_rate


class FixedWindowThrottle(BaseThrottle):
    scope = ""
    rate_setting = ""

    def get_ident_for(self, request: Request) -> str | None:
        """Who is counted; None exempts the request."""
        raise NotImplementedError

    @classmethod
    def cache_key(cls, ident: str, window: int) -> str:
        return f"throttle:{cls.scope}:{ident}:{window}"

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.get_ident_for(request)
        if ident is None:
            return True
        limit, period = parse_rate(getattr(settings, self.rate_setting))
        now = time.time()
        window = int(now // period)
        count = count_up(self.cache_key(ident, window), timeout=period + 1)
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class MessageRateThrottle(FixedWindowThrottle):
    """CHAT_MESSAGE_RATE per user, for message sends (POST) only."""

    scope = "message"
    rate_setting = "CHAT_MESSAGE_RATE"

    def get_ident_for(self, request: Request) -> str | None:
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        return str(request.user.pk)


class AuthRateThrottle(FixedWindowThrottle):
    """CHAT_AUTH_RATE per client IP, for token, refresh and register together."""

    scope = "auth"
    rate_setting = "CHAT_AUTH_RATE"

    def get_ident_for(self, request: Request) -> str | None:
        return self.get_ident(request) or "unknown"
