"""The Redis cache shares one connection pool per server across backend instances."""

from __future__ import annotations

import uuid

import redis
from django.core.cache import caches
from django.test import override_settings

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
