"""Prometheus metrics of a chatsite process, and the endpoint that serves them (``/metrics``).

Several Daphne processes run on one host, so the metrics use prometheus-client's multiprocess
mode whenever ``PROMETHEUS_MULTIPROC_DIR`` names a directory: each process writes its values
to memory-mapped files there, and a scrape of any one process answers for all of them
(counters and histograms summed, open sockets summed over the processes that are alive). The
directory must be empty when the first process starts (docs/operations.md, "Metrics").
Without it each process counts in its own memory and answers for itself only.

Who may read them: a client address inside ``METRICS_ALLOWED_IPS`` (loopback by default), or
a request carrying ``Authorization: Bearer <METRICS_TOKEN>``. Anyone else gets the site's
404, as for a page that does not exist. The address is ``chatsite.ratelimit.client_ip``,
the one resolver of the site.

What the code records (each a single call at the place where it happens):

- ``observe_request``: ``chatsite.request_log`` after every HTTP response;
- ``SOCKETS_OPEN``: ``chatsite.ws_logging`` when a WebSocket is accepted and when it ends;
- ``DELIVERIES`` and ``REPLAYED``: the consumer, per frame it writes (live, or from the
  database on ``subscribe``);
- ``LAYER_PUBLISH``: ``chat.events``, the time each message event takes to reach the layer;
- ``RATE_LIMIT_REFUSALS``: ``chatsite.ratelimit.hit``, per refused action and scope;
- ``set_worker_queue_depth``: the background worker's heartbeat (``worker.runner``), per
  queue, every ``CHAT_WORKER_HEARTBEAT_SECONDS``; it reaches a web process's ``/metrics``
  when the worker shares its ``PROMETHEUS_MULTIPROC_DIR`` (same host), and ``/readyz``
  reports the depth everywhere.
"""

from __future__ import annotations

import atexit
import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from chatsite import ratelimit

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUEST_SECONDS = Histogram(
    "chatsite_http_request_duration_seconds",
    "Time from a request's arrival to its response, by method, route pattern and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SOCKETS_OPEN = Gauge(
    "chatsite_websockets_open",
    "WebSockets accepted and not yet closed.",
    multiprocess_mode="livesum",
)
DELIVERIES = Counter(
    "chatsite_ws_deliveries",
    "Live events written to sockets (one per event and socket).",
)
REPLAYED = Counter(
    "chatsite_ws_replayed_events",
    "Stored changes written to sockets from the database on subscribe (since_seq resume).",
)
LAYER_PUBLISH = Histogram(
    "chatsite_layer_publish_duration_seconds",
    "Time a message event takes to be published to the channel layer.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
RATE_LIMIT_REFUSALS = Counter(
    "chatsite_rate_limit_refusals",
    "Actions refused by a rate limit (chatsite/ratelimit.py), by limit.",
    ["scope"],
)
WORKER_QUEUE_DEPTH = Gauge(
    "chatsite_worker_queue_depth",
    "Jobs waiting in a background worker queue, as the worker last saw it.",
    ["queue"],
    multiprocess_mode="livemax",
)

if MULTIPROCESS:
    # The gauges of a process that exits leave the sums at once (livesum/livemax).
    atexit.register(multiprocess.mark_process_dead, os.getpid())


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def request_route(request: HttpRequest) -> str:
    """The URL pattern that answered (``api/chat/messages``), never the raw path, so the
    number of series stays bounded; static files and unknown paths have one name each."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        # Regex routes (DRF's routers) lose their anchors: "api/chat/messages/?$" reads as
        # "api/chat/messages".
        return match.route.lstrip("^").removesuffix("$").removesuffix("/?") or "/"
    if match is not None:
        return match.view_name or "<unnamed>"
    if request.path.startswith(settings.STATIC_URL):
        return "<static>"
    return "<unmatched>"


@contextmanager
def timed_publish() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        LAYER_PUBLISH.observe(time.perf_counter() - started)


def set_worker_queue_depth(queue: str, depth: int) -> None:
    """What a background worker calls with the length of its queue (see the module doc)."""
    WORKER_QUEUE_DEPTH.labels(queue).set(depth)


def allowed(request: HttpRequest) -> bool:
    """The bearer token, or a client address inside METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    try:
        address = ipaddress.ip_address(ratelimit.client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def exposition() -> bytes:
    """Every metric of the host (multiprocess mode) or of this process, in the text format."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@require_GET
@never_cache
@transaction.non_atomic_requests
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format, for allowed scrapers only (else 404)."""
    if not allowed(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
