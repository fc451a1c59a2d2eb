"""The Redis cache: django-redis, answering from process memory while Redis is away.

django-redis keeps one connection pool per server for the whole process (under ASGI, Django
builds a cache backend per request context, and each would otherwise dial Redis anew for rate
limits and login lockouts).

While Redis is away the cache keeps answering from process memory instead of raising: rate
limits and login lockouts then count per process, and a request never fails because a
counter could not be reached (docs/operations.md, "Outages"). The first failure is logged as
a warning; Redis is tried again every ``REDIS_RETRY_SECONDS``, and its return is logged too.
django-redis's own ``IGNORE_EXCEPTIONS`` would only fail open (a miss, no count at all), so
it stays off here: this subclass sees the connection error and answers from memory instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache as DjangoRedisCache

logger = logging.getLogger(__name__)

# What redis-py raises when the server cannot be reached or does not answer in time.
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# While Redis is away, how long the cache counts in process memory before it tries again.
REDIS_RETRY_SECONDS = 5.0
# Counters of a whole outage fit: rate-limit windows of every active user, lockout entries.
LOCAL_MAX_ENTRIES = 100_000
# The cache operations that fall back to process memory (Django's cache API).
FALLBACK_OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "decr",
    "set_many",
    "delete_many",
    "clear",
)

_outages_lock = threading.Lock()


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
    with _outages_lock:
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


# RedisCache.redis_client's clients, by configuration (thread-safe: each uses the pool).
_raw_clients: dict[str, redis.Redis] = {}


class RedisCache(DjangoRedisCache):
    """django-redis's cache, answering from process memory while Redis is away.

    Every operation of ``FALLBACK_OPERATIONS`` goes to Redis, or to the process's own store
    while Redis is away (methods made by ``_falls_back`` below).
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.outage = outage_of(server)
        # LocMemCache keeps its data per name at module level: one store for the process.
        self._local = LocMemCache(
            "chatsite-redis-fallback", {**params, "OPTIONS": {"MAX_ENTRIES": LOCAL_MAX_ENTRIES}}
        )

    def redis_client(self) -> redis.Redis:
        """The raw client that writes go through (django-redis's shared pool), one per
        configuration and process: under ASGI Django makes a new cache per request, and
        django-redis a new ``redis.Redis`` for it, about 0.1 ms of CPU per request
        (docs/performance.md, "Round 3: posting a message")."""
        key = repr((self._server, self._params))
        client = _raw_clients.get(key)
        if client is None:
            client = _raw_clients.setdefault(key, self.client.get_client(write=True))
        return client

    def connection_pool(self) -> Any:
        """The pool that writes go through (shared by every instance in this process)."""
        return self.redis_client().connection_pool

    def count_up(self, key: str, timeout: int) -> int:
        """Add one to the counter at ``key``, created with ``timeout`` seconds to live.

        INCR and EXPIRE ... NX in one transaction: one round trip, atomic across processes.
        While Redis is away, the count is this process's own.
        """
        return int(
            _first_available(
                self.outage,
                lambda: self._count_up_in_redis(key, timeout),
                lambda: _add_then_incr(self._local, key, timeout),
            )
        )

    def _count_up_in_redis(self, key: str, timeout: int) -> int:
        redis_key = self.make_and_validate_key(key)
        with self.redis_client().pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, timeout, nx=True)
            count, _ = pipe.execute()
        return int(count)


def _falls_back(name: str) -> Callable[..., Any]:
    in_redis = getattr(DjangoRedisCache, name)

    def operation(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        return _first_available(
            self.outage,
            lambda: in_redis(self, *args, **kwargs),
            lambda: getattr(self._local, name)(*args, **kwargs),
        )

    operation.__name__ = operation.__qualname__ = name
    operation.__doc__ = f"``{name}`` in Redis, or in process memory while Redis is away."
    return operation


for _name in FALLBACK_OPERATIONS:
    setattr(RedisCache, _name, _falls_back(_name))


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
