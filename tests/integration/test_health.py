"""/healthz and /readyz against real services, including a Redis that goes away and returns."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from chatsite import health

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """A redis-server of its own on a free port, stopped and restarted by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        assert not self._answers()


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed; the unused-port test below still runs")
    server = ThrowawayRedis(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


CORE_LAYER = "channels_redis.core.RedisChannelLayer"
PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


def _layer_on(url: str, backend: str = CORE_LAYER) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": backend,
            "CONFIG": {
                "hosts": [{"address": url, "max_connections": 100, "socket_timeout": 15}],
                "prefix": "chatsite-readyz-test",
            },
        }
    }


def test_healthz_is_200_without_touching_services(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_200_with_each_check_named(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok"},
        "failing": [],
        # The worker's report comes along and never fails the probe (no worker runs here).
        "worker": {
            "status": "absent",
            "workers": 0,
            "last_heartbeat": None,
            "queue_depth": 0,
            "failed_last_day": 0,
        },
    }


def test_a_report_that_fails_says_so_and_leaves_readiness_alone(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("no table")

    monkeypatch.setitem(health.REPORTS, "worker", broken)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["worker"] == {"status": "error: RuntimeError"}


@pytest.mark.parametrize("backend", [CORE_LAYER, PUBSUB_LAYER])
def test_readyz_is_503_while_redis_is_down_and_200_when_it_is_back(
    client: Any, settings: Any, throwaway_redis: ThrowawayRedis, backend: str
) -> None:
    settings.CHANNEL_LAYERS = _layer_on(throwaway_redis.url, backend)
    assert client.get("/readyz").status_code == 200

    throwaway_redis.stop()
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["failing"] == ["channel_layer"]
    assert body["checks"]["channel_layer"].startswith("error: ")
    assert body["checks"]["database"] == "ok"
    assert elapsed < 5, f"readiness took {elapsed:.1f} s with Redis down"

    throwaway_redis.start()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["failing"] == []


@pytest.mark.parametrize("backend", [CORE_LAYER, PUBSUB_LAYER])
def test_readyz_fails_fast_when_the_redis_port_never_answers(
    client: Any, settings: Any, backend: str
) -> None:
    # A listening socket that never speaks RESP: the round trip must time out, not hang.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings.CHANNEL_LAYERS = _layer_on(f"redis://127.0.0.1:{port}/0", backend)
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]
    assert elapsed < 5, f"readiness took {elapsed:.1f} s against a silent port"


@pytest.mark.parametrize("backend", [CORE_LAYER, PUBSUB_LAYER])
def test_readyz_is_200_while_a_consumer_is_receiving_on_the_shared_layer(
    client: Any, settings: Any, backend: str
) -> None:
    # RedisChannelLayer refuses receive() from a second event loop: the probe must not share
    # the layer that the process's consumers are blocked on.
    settings.CHANNEL_LAYERS = _layer_on(settings.REDIS_URL, backend)
    layer = get_channel_layer()
    assert layer is not None

    async def probe_while_receiving() -> int:
        channel = await layer.new_channel("consumer.")
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        try:
            response = await sync_to_async(client.get, thread_sensitive=False)("/readyz")
        finally:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiving
        return int(response.status_code)

    assert async_to_sync(probe_while_receiving)() == 200


def test_readyz_rejects_post(client: Any) -> None:
    assert client.post("/readyz").status_code == 405


def test_readyz_is_503_on_an_unused_redis_port_and_200_on_the_real_one(
    client: Any, settings: Any
) -> None:
    # The same outage and recovery without a redis-server binary of our own.
    real_layers = settings.CHANNEL_LAYERS
    settings.CHANNEL_LAYERS = _layer_on(f"redis://127.0.0.1:{_free_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]

    settings.CHANNEL_LAYERS = real_layers
    response = client.get("/readyz")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("backend", [CORE_LAYER, PUBSUB_LAYER])
def test_readyz_checks_every_shard_of_a_sharded_layer(
    client: Any, settings: Any, backend: str
) -> None:
    # Two shards: the shared test Redis, and a port where nothing listens. Most groups would
    # still work, but the probe goes through each shard and names the layer as failing.
    real = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]
    dead = f"redis://127.0.0.1:{_free_port()}/0"
    layers = _layer_on(real, backend)
    layers["default"]["CONFIG"]["hosts"].append({**layers["default"]["CONFIG"]["hosts"][0]})
    layers["default"]["CONFIG"]["hosts"][1]["address"] = dead
    settings.CHANNEL_LAYERS = layers
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]

    layers["default"]["CONFIG"]["hosts"][1]["address"] = real
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
