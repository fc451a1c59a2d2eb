"""Every rate limit of chatsite, for the pages, the REST API and the WebSocket alike.

One scheme: a fixed window per limit and identity (a user id, or a client address), counted in
the shared cache with ``chatsite.cache.count_up`` (INCR and EXPIRE in one round trip to Redis
when REDIS_URL is set), so every process counts into the same number and every door of a
limit (a REST request, a WebSocket frame, a form post) spends the same budget. Rates use DRF's
notation (``120/min``) and are read from settings at each use, so operators and tests can
change them without reloading anything. docs/operations.md lists the limits.

``client_ip`` is the one answer to "which address is this client" for rate limits, lockouts
(django-axes calls it too) and sockets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from chatsite import metrics
from chatsite.api_errors import error_body
from chatsite.cache import count_up

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/min"`` -> ``(20, 60)``: the number of actions allowed and the window in seconds."""
    try:
        count, period = rate.split("/", 1)
        return int(count), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        raise ValueError(f"Invalid rate {rate!r}: use <number>/<s|min|hour|day>.") from None


def per_second(rate: str) -> float:
    """A rate as actions per second: ``"120/min"`` -> 2.0."""
    count, seconds = parse_rate(rate)
    return count / seconds


@dataclass(frozen=True)
class Limit:
    """A budget named by ``scope``, its rate read from the setting ``setting``."""

    scope: str
    setting: str

    @property
    def rate(self) -> str:
        return str(getattr(settings, self.setting))


# Per user, whichever door the action comes through.
MESSAGE = Limit("message", "CHAT_MESSAGE_RATE")
CHANNEL_CREATE = Limit("channel-create", "CHAT_CHANNEL_CREATE_RATE")
EDIT = Limit("edit", "CHAT_EDIT_RATE")
MEMBER_ADD = Limit("member-add", "CHAT_MEMBER_ADD_RATE")
INVITE = Limit("invite", "CHAT_INVITE_RATE")
PROFILE = Limit("profile", "CHAT_PROFILE_RATE")
SEARCH = Limit("search", "CHAT_SEARCH_RATE")
# Member removals (not leaving) share the adds' budget: one budget for member changes.
MEMBER_CHANGE = MEMBER_ADD
DM_CREATE = Limit("dm-create", "CHAT_DM_CREATE_RATE")
USER_SEARCH = Limit("user-search", "CHAT_USER_SEARCH_RATE")
REACTION = Limit("reaction", "CHAT_REACTION_RATE")
PREVIEW = Limit("preview", "CHAT_PREVIEW_RATE")
REPORT = Limit("report", "CHAT_REPORT_RATE")
COMMAND = Limit("command", "CHAT_COMMAND_RATE")
UPLOAD = Limit("upload", "CHAT_UPLOAD_RATE")
DOWNLOAD = Limit("download", "CHAT_DOWNLOAD_RATE")
MEMBERSHIP = Limit("membership", "CHAT_MEMBERSHIP_RATE")
MENTION_LIST = Limit("mention-list", "CHAT_MENTION_LIST_RATE")
PUSH_SUBSCRIPTION = Limit("push-subscription", "CHAT_PUSH_SUBSCRIPTION_RATE")
NOTIFICATION_SETTINGS = Limit("notification-settings", "CHAT_NOTIFICATION_SETTINGS_RATE")
# Per client address: the unsubscribe links of notification emails (no one is signed in).
UNSUBSCRIBE = Limit("unsubscribe", "CHAT_UNSUBSCRIBE_RATE")
BOT_MANAGE = Limit("bot-manage", "CHAT_BOT_MANAGE_RATE")
# Per user: asking for an archive of one's own data (docs/integrations.md, "Exporting").
USER_EXPORT = Limit("user-export", "CHAT_USER_EXPORT_RATE")
# Per incoming webhook (its id), whoever calls it.
HOOK = Limit("hook", "CHAT_HOOK_RATE")
# Per client address: every login, token and sign-up door together.
AUTH = Limit("auth", "CHAT_AUTH_RATE")
# Per email address: the claim links of imported accounts mailed to it (the address's
# CHAT_AUTH_RATE applies too), so nobody fills someone's inbox with them.
CLAIM_EMAIL = Limit("claim-email", "CHAT_CLAIM_EMAIL_RATE")


def cache_key(limit: Limit, ident: str, window: int) -> str:
    return f"rate:{limit.scope}:{ident}:{window}"


def hit(limit: Limit, ident: str) -> int | None:
    """Count one action of ``ident`` against ``limit``.

    Returns None while within the budget, else the whole seconds until the window ends (at
    least 1), for a Retry-After.
    """
    allowed, period = parse_rate(limit.rate)
    now = time.time()
    window = int(now // period)
    if count_up(cache_key(limit, ident, window), timeout=period + 1) <= allowed:
        return None
    metrics.RATE_LIMIT_REFUSALS.labels(limit.scope).inc()
    return max(1, math.ceil((window + 1) * period - now))


# --- Who the client is ---------------------------------------------------------------------


def _address(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The peer address, or with NUM_PROXIES trusted proxies the address the outermost of them
    saw (DRF's rule). Without trusted proxies X-Forwarded-For is ignored: a client could
    otherwise name any address it likes and dodge every per-address limit."""
    proxies = settings.NUM_PROXIES
    if proxies > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote_addr or "unknown"


def client_ip(request: HttpRequest | Request) -> str:
    """The client address of an HTTP request (pages, API, admin, django-axes)."""
    meta: Mapping[str, Any] = request.META
    return _address(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"))


def scope_client_ip(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI scope (WebSocket handshakes)."""
    client = scope.get("client") or (None, None)
    forwarded = None
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            forwarded = value.decode("latin1")
    return _address(client[0], forwarded)


# --- The doors -----------------------------------------------------------------------------


class AuthRateThrottle(BaseThrottle):
    """DRF: CHAT_AUTH_RATE per client address, for the API's token, refresh and register."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self._wait = hit(AUTH, client_ip(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def auth_rate_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A login view whose POSTs spend the client address's CHAT_AUTH_RATE budget.

    For doors that render no form of ours (the admin's login, the browsable API's): over the
    budget they answer 429 with Retry-After, in the API's error shape under /api/.
    """

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            wait = hit(AUTH, client_ip(request))
            if wait is not None:
                return too_many_attempts(request, wait)
        return view(request, *args, **kwargs)

    return limited


def too_many_attempts(request: HttpRequest, wait: int) -> HttpResponse:
    detail = f"Too many attempts from your address. Try again in {wait} seconds."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("rate_limited", detail), status=429)
    else:
        response = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response
