"""Django's Redis cache with one connection pool per server for the whole process.

Under ASGI, Django builds a cache backend per request context, and its Redis client keeps its
connection pool on that instance: every request would dial Redis anew (rate limits, login
lockouts). This backend keeps the pools at module level, keyed by server and options, so
requests share warm connections. redis-py's ConnectionPool is thread-safe.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Set by RedisCacheClient.__init__ (not in the type stubs).
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    def _get_connection_pool(self, write: bool) -> Any:
        index: int = super()._get_connection_pool_index(write)  # type: ignore[misc]
        server = self._servers[index]
        key = (server, repr(sorted(self._pool_options.items(), key=lambda item: item[0])))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    _pools[key] = pool
        return pool


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient

    def connection_pool(self) -> Any:
        """The pool that writes go through (shared by every instance in this process)."""
        client: SharedPoolRedisCacheClient = self._cache  # type: ignore[attr-defined]
        return client._get_connection_pool(True)

    def count_up(self, key: str, timeout: int) -> int:
        """Add one to the counter at ``key``, created with ``timeout`` seconds to live.

        INCR and EXPIRE ... NX in one transaction: one round trip, atomic across processes.
        """
        redis_key = self.make_and_validate_key(key)
        client = self._cache.get_client(redis_key, write=True)  # type: ignore[attr-defined]
        with client.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, timeout, nx=True)
            count, _ = pipe.execute()
        return int(count)


def count_up(key: str, timeout: int) -> int:
    """``RedisCache.count_up`` on the default cache; other backends use add, then incr."""
    counter = getattr(cache, "count_up", None)
    if counter is not None:
        return int(counter(key, timeout))
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
