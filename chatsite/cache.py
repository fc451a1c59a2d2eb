"""Django's Redis cache with one connection pool per server for the whole process.

Under ASGI, Django builds a cache backend per request context, and its Redis client keeps its
connection pool on that instance: every request would dial Redis anew (rate limits, login
lockouts). This backend keeps the pools at module level, keyed by server and options, so
requests share warm connections. redis-py's ConnectionPool is thread-safe.

While Redis is away the cache keeps answering from process memory instead of raising: rate
limits and login lockouts then count per process, and a request never fails because a
counter could not be reached (docs/operations.md, "Outages"). The first failure is logged as
a warning; Redis is tried again every ``REDIS_RETRY_SECONDS``, and its return is logged too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import redis
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

logger = logging.getLogger(__name__)

# What redis-py raises when the server cannot be reached or does not answer in time.
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# While Redis is away, how long the cache counts in process memory before it tries again.
REDIS_RETRY_SECONDS = 5.0
# Counters of a whole outage fit: rate-limit windows of every active user, lockout entries.
LOCAL_MAX_ENTRIES = 100_000

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


class RedisOutage:
    """Whether this process last found a Redis server away (one per server and process)."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0

    def skip_redis(self) -> bool:
        """True while Redis was found away less than REDIS_RETRY_SECONDS ago."""
        return self.down and time.monotonic() < self.retry_at

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            if self.down:
                return
            self.down = True
        logger.warning(
            "cache.redis_unavailable: counting rate limits and lockouts in process memory "
            "until Redis answers again (%s: %s)",
            type(exc).__name__,
            exc,
        )

    def answered(self) -> None:
        if not self.down:
            return
        with self._lock:
            was_down, self.down = self.down, False
        if was_down:
            logger.warning("cache.redis_back: counting in Redis again")


_outages: dict[str, RedisOutage] = {}


def outage_of(server: str) -> RedisOutage:
    """The outage state of the Redis server at ``server`` (a LOCATION) in this process."""
    with _pools_lock:
        return _outages.setdefault(server, RedisOutage(server))


def _first_available(
    outage: RedisOutage, in_redis: Callable[[], Any], locally: Callable[[], Any]
) -> Any:
    """``in_redis()``, or ``locally()`` while Redis is away."""
    if not outage.skip_redis():
        try:
            result = in_redis()
        except REDIS_UNAVAILABLE as exc:
            outage.failed(exc)
        else:
            outage.answered()
            return result
    return locally()


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
    """Django's Redis cache on shared pools, answering from process memory while Redis is away."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
        self.outage = outage_of(server)
        # LocMemCache keeps its data per name at module level: one store for the process.
        self._local = LocMemCache(
            "chatsite-redis-fallback", {**params, "OPTIONS": {"MAX_ENTRIES": LOCAL_MAX_ENTRIES}}
        )

    def _redis_or_local(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return _first_available(
            self.outage,
            partial(getattr(super(), name), *args, **kwargs),
            partial(getattr(self._local, name), *args, **kwargs),
        )

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._redis_or_local("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._redis_or_local("clear")

    def connection_pool(self) -> Any:
        """The pool that writes go through (shared by every instance in this process)."""
        client: SharedPoolRedisCacheClient = self._cache  # type: ignore[attr-defined]
        return client._get_connection_pool(True)

    def count_up(self, key: str, timeout: int) -> int:
        """Add one to the counter at ``key``, created with ``timeout`` seconds to live.

        INCR and EXPIRE ... NX in one transaction: one round trip, atomic across processes.
        While Redis is away, the count is this process's own.
        """
        return int(
            _first_available(
                self.outage,
                partial(self._count_up_in_redis, key, timeout),
                partial(_add_then_incr, self._local, key, timeout),
            )
        )

    def _count_up_in_redis(self, key: str, timeout: int) -> int:
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
    return _add_then_incr(cache, key, timeout)


def _add_then_incr(backend: BaseCache, key: str, timeout: int) -> int:
    backend.add(key, 0, timeout=timeout)
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.add(key, 1, timeout=timeout)
        return 1
