"""The Redis cache shares one connection pool per server across backend instances."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from django_redis.cache import RedisCache as DjangoRedisCache

from chatsite import cache as cache_module
from chatsite.cache import RedisCache, count_up


def test_backend_instances_share_one_pool_and_its_connections() -> None:
    # Under ASGI each request context gets a backend instance of its own, like these.
    backends = [caches.create_connection("default") for _ in range(20)]
    assert all(isinstance(backend, RedisCache) for backend in backends)
    shared = [backend for backend in backends if isinstance(backend, RedisCache)]
    key = f"shared-pool-{uuid.uuid4()}"
    backends[0].set(key, 41, timeout=30)
    pool = shared[0].connection_pool()
    # Earlier tests in this process (live servers in threads) may have opened a few already.
    opened_before = len(pool._available_connections) + len(pool._in_use_connections)
    for backend in backends:
        backend.incr(key)
    assert backends[-1].get(key) == 61

    pools = {id(backend.connection_pool()) for backend in shared}
    assert len(pools) == 1
    # Sequential use opens no further connection, however many instances ran.
    assert len(pool._available_connections) + len(pool._in_use_connections) == opened_before


def test_count_up_counts_and_sets_the_expiry_once() -> None:
    key = f"count-up-{uuid.uuid4()}"
    assert [count_up(key, timeout=30) for _ in range(3)] == [1, 2, 3]
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    redis_key = backend.make_and_validate_key(key)
    with redis.Redis(connection_pool=backend.connection_pool()) as connection:
        ttl = connection.ttl(redis_key)
        connection.expire(redis_key, 100)
    assert 0 < ttl <= 30
    # NX: a later count leaves the window's expiry alone.
    count_up(key, timeout=30)
    with redis.Redis(connection_pool=backend.connection_pool()) as connection:
        assert connection.ttl(redis_key) > 30


def test_count_up_works_on_caches_without_it() -> None:
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=locmem):
        key = f"count-up-{uuid.uuid4()}"
        assert [count_up(key, timeout=30) for _ in range(3)] == [1, 2, 3]


# --- While Redis is away ------------------------------------------------------------------


@pytest.fixture
def unreachable_cache() -> Iterator[Callable[[], RedisCache]]:
    """Backend instances on a port where no Redis listens (refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    location = f"redis://127.0.0.1:{port}/0"
    params = {"KEY_PREFIX": f"away-{uuid.uuid4()}", "OPTIONS": {"socket_connect_timeout": 1}}
    yield lambda: RedisCache(location, params)
    cache_module._outages.pop(location, None)


def test_count_up_counts_in_process_memory_while_redis_is_away(
    unreachable_cache: Callable[[], RedisCache], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chatsite.cache"):
        # A backend instance per request under ASGI: they count into the same number.
        counts = [unreachable_cache().count_up("throttle:message:1:1", 30) for _ in range(5)]
    assert counts == [1, 2, 3, 4, 5]
    # One warning for the outage, not one per request.
    warnings = [r.getMessage() for r in caplog.records if r.name == "chatsite.cache"]
    assert len(warnings) == 1 and "cache.redis_unavailable" in warnings[0]


def test_get_set_add_and_incr_answer_from_memory_while_redis_is_away(
    unreachable_cache: Callable[[], RedisCache],
) -> None:
    backend = unreachable_cache()
    backend.set("a", 1, timeout=30)
    assert backend.add("a", 5) is False
    assert backend.incr("a") == 2
    assert backend.get("a") == 2
    assert backend.get_many(["a", "b"]) == {"a": 2}
    backend.delete("a")
    assert backend.get("a", "gone") == "gone"


def test_redis_is_tried_again_after_the_retry_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = caches.create_connection("default")
    assert isinstance(backend, RedisCache)
    key = f"count-up-{uuid.uuid4()}"
    backend.outage.failed(redis.exceptions.ConnectionError("gone"))
    try:
        # Inside the interval the count stays in this process; Redis never sees it.
        assert backend.count_up(key, timeout=30) == 1
        with redis.Redis(connection_pool=backend.connection_pool()) as connection:
            assert connection.get(backend.make_and_validate_key(key)) is None
        backend.outage.retry_at = 0.0
        with caplog.at_level(logging.WARNING, logger="chatsite.cache"):
            assert backend.count_up(key, timeout=30) == 1  # in Redis now, a fresh count
        assert backend.outage.down is False
        assert any("cache.redis_back" in r.getMessage() for r in caplog.records)
    finally:
        backend.outage.down = False


def test_the_cache_is_django_redis_with_the_timeouts_that_bound_an_outage() -> None:
    backend = caches.create_connection("default")
    assert isinstance(backend, DjangoRedisCache)
    # django-redis reads SOCKET_*_TIMEOUT only: a Redis that does not answer costs a request
    # at most these before the in-memory fallback (docs/operations.md, "Outages").
    pool_kwargs = backend.connection_pool().connection_kwargs
    assert (pool_kwargs["socket_connect_timeout"], pool_kwargs["socket_timeout"]) == (1, 2)


def test_decr_and_has_key_answer_from_memory_while_redis_is_away(
    unreachable_cache: Callable[[], RedisCache],
) -> None:
    backend = unreachable_cache()
    backend.set("n", 5, timeout=30)
    assert backend.decr("n") == 4
    assert backend.has_key("n") is True
    backend.clear()
    assert backend.has_key("n") is False
