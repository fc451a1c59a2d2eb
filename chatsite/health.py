"""Liveness and readiness probes (docs/operations.md, "Health probes").

``/healthz`` answers as long as the process serves HTTP: it touches neither the database nor
Redis, so a database outage never makes an orchestrator restart healthy web processes.
``/readyz`` checks that the database answers a query and that a message makes a round trip
through the channel layer. Each check runs in a worker thread and is given
``READINESS_TIMEOUT`` seconds, so a blackholed host makes the probe fail fast instead of
hanging (and under ASGI, never blocks the thread that serves the other synchronous views).

Beside the checks, ``/readyz`` carries reports that apps register (``register_report``; the
worker's heartbeat and queue, from ``worker.apps``). A report informs and never fails the
probe: a stopped worker delays mail, it does not make a web process unable to serve.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

READINESS_TIMEOUT = 2.0
# Few threads: a hanging dependency can occupy them, and then further checks time out too.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@require_GET
@never_cache
@transaction.non_atomic_requests
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The worker thread has its own connection: hand it back to the pool.
        connection.close()


def _probe_layers() -> list[Any]:
    """Layer instances of the probe's own, one per Redis shard of the configured layer, so a
    shard that is away fails the probe even though most groups live on the others.
    RedisChannelLayer lets one event loop receive at a time, and the consumers of this
    process are receiving on theirs: the probe never uses the process's layer."""
    config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER]
    hosts = config.get("CONFIG", {}).get("hosts")
    if not hosts or len(hosts) == 1:
        return [channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)]
    backend = import_string(config["BACKEND"])
    return [backend(**{**config["CONFIG"], "hosts": [host]}) for host in hosts]


async def _layer_round_trip() -> None:
    await asyncio.gather(*(_round_trip(layer) for layer in _probe_layers()))


async def _round_trip(layer: Any) -> None:
    try:
        channel = await layer.new_channel("readyz.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "token": token})
        received = await layer.receive(channel)
        if received.get("token") != token:
            raise RuntimeError("channel layer returned another message")
    finally:
        close_pools = getattr(layer, "close_pools", None)
        if close_pools is not None:
            await close_pools()


def _check_channel_layer() -> None:
    async def bounded() -> None:
        await asyncio.wait_for(_layer_round_trip(), timeout=READINESS_TIMEOUT)

    async_to_sync(bounded)()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "channel_layer": _check_channel_layer,
}


REPORTS: dict[str, Callable[[], dict[str, Any]]] = {}


def register_report(name: str, report: Callable[[], dict[str, Any]]) -> None:
    """Add ``report()`` to ``/readyz`` under ``name`` (an app calls it from ``ready``)."""
    REPORTS[name] = report


def run_reports(timeout: float = READINESS_TIMEOUT) -> dict[str, dict[str, Any]]:
    """Every registered report, concurrently; one that fails or hangs says so in ``status``."""
    futures = {name: _executor.submit(_closing(report)) for name, report in REPORTS.items()}
    results: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=timeout + 0.5)
        except FutureTimeout:
            results[name] = {"status": "error: timeout"}
        except Exception as exc:
            results[name] = {"status": f"error: {type(exc).__name__}"}
    return results


def _closing(report: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        try:
            return report()
        finally:
            # The worker thread has its own connection: hand it back to the pool.
            connections["default"].close()

    return run


def run_checks(timeout: float = READINESS_TIMEOUT) -> dict[str, str]:
    """Run every check concurrently; each result is "ok" or "error: <reason>"."""
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    results: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout + 0.5)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "error: timeout"
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}"
    return results


@require_GET
@never_cache
@transaction.non_atomic_requests
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer answer: 200, else 503 naming the failing checks.
    The registered reports (the worker's) come along and never change the status."""
    checks = run_checks()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body: dict[str, Any] = {
        "status": "error" if failing else "ok",
        "checks": checks,
        "failing": failing,
    }
    body.update(run_reports())
    return JsonResponse(body, status=503 if failing else 200)
