"""The Redis cache shares one connection pool per server across backend instances."""

from __future__ import annotations

import uuid

from django.core.cache import caches

from chatsite.cache import RedisCache


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
