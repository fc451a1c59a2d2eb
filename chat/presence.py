"""Short-lived state shared by every Daphne process: who is online, who typed recently.

Presence is counted per user as a Redis sorted set of the user's open connections (each
consumer's ``connection_id``), each scored with the time it expires. A connection refreshes its
entry every heartbeat, so the entries of a process that died without saying goodbye fall away
after ``PRESENCE_TTL_SECONDS``. A user goes online when the set grows from empty and offline
when it shrinks to empty: a second tab, or a tab on another process, keeps the user online.

The typing throttle is one ``SET NX PX`` key per user and channel, so it holds across tabs
and processes too.

Without Redis (the embedded development mode, in-memory channel layer) both live in this
process, which is then the only one.
"""

from __future__ import annotations

import math
import time
from typing import Any

import redis
from django.conf import settings
from redis import asyncio as aioredis
from redis.sentinel import Sentinel

from chat import realtime

TYPING_INTERVAL_MS = 3000
REFRESH_BATCH = 500  # connections per pipeline in connections_refreshed

# ARGV: now, expiry score, connection, key TTL, the most connections a user may have (0: any).
# Returns how many live connections the user had before, or -1 if that many is the limit.
_CONNECT_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local before = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[5])
if limit > 0 and before >= limit then
  return -1
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return before
"""

_DISCONNECT_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
"""


# KEYS: one presence set per connection; ARGV: expiry score, key TTL, then the connections.
_REFRESH_SCRIPT = """
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[i + 2])
  redis.call('EXPIRE', key, ARGV[2])
end
return #KEYS
"""


def presence_ttl_seconds() -> float:
    """How long a connection counts as online without a refresh: three heartbeats."""
    return 3 * float(settings.HEARTBEAT_SECONDS)


def _key_ttl_seconds() -> int:
    """Redis keeps a user's set a little longer than its newest entry (EXPIRE takes whole s)."""
    return math.ceil(presence_ttl_seconds()) + 1


_local_connections: dict[str, dict[str, float]] = {}
_local_typing: dict[str, float] = {}


def _prefix() -> str:
    layer = realtime.current().layer
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return str(getattr(layer, "prefix", None) or config.get("prefix") or "chatsite")


def _configured_prefix() -> str:
    """The prefix of ``_prefix``, from the settings alone (no event loop needed)."""
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return str(config.get("prefix") or "chatsite")


_sync_clients: dict[str, redis.Redis] = {}


def _sync_client() -> redis.Redis:
    """A blocking client on the presence host (the layer's first), for code that runs in a
    thread rather than on the event loop: the services."""
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    hosts = config.get("hosts") or [{"address": settings.REDIS_URL}]
    host = hosts[0] if isinstance(hosts[0], dict) else {"address": hosts[0]}
    key = repr(sorted(host.items()))
    client = _sync_clients.get(key)
    if client is None:
        if "sentinels" in host:
            sentinel = Sentinel(host["sentinels"], sentinel_kwargs=host.get("sentinel_kwargs"))
            client = sentinel.master_for(
                host["master_name"],
                db=host.get("db", 0),
                password=host.get("password"),
                username=host.get("username"),
            )
        else:
            client = redis.Redis.from_url(host["address"])
        _sync_clients[key] = client
    return client


def _uses_redis() -> bool:
    return bool(settings.REDIS_URL)


def _client() -> aioredis.Redis:
    """The process's Redis client (chat.realtime owns it)."""
    return realtime.current().redis()


async def close_client() -> None:
    """Close the process's Redis client (tests call this before their loop ends)."""
    await realtime.current().close()


def _key(user_id: Any) -> str:
    return f"{_prefix()}:presence:{user_id}"


class TooManyConnections(Exception):
    """The user already has as many live connections as allowed."""


async def connection_opened(*, user_id: Any, connection: str, limit: int = 0) -> bool:
    """Count a new connection of a user; True if the user was offline until now.

    With ``limit`` (> 0), a user who already has ``limit`` live connections, on any process,
    gets TooManyConnections and the connection is not counted: the check and the count are
    one atomic step, so two processes cannot both let the last one in.
    """
    now = time.time()
    expires = now + presence_ttl_seconds()
    if not _uses_redis():
        entries = _local_connections.setdefault(str(user_id), {})
        live = {name: until for name, until in entries.items() if until > now}
        if limit > 0 and len(live) >= limit:
            raise TooManyConnections
        _local_connections[str(user_id)] = {**live, connection: expires}
        return not live
    before = int(
        await _client().eval(
            _CONNECT_SCRIPT, 1, _key(user_id), now, expires, connection, _key_ttl_seconds(), limit
        )
    )
    if before < 0:
        raise TooManyConnections
    return before == 0


async def connection_refreshed(*, user_id: Any, connection: str) -> None:
    """Keep a live connection counted for another TTL."""
    await connections_refreshed([(user_id, connection)])


async def connections_refreshed(connections: list[tuple[Any, str]]) -> None:
    """Keep live connections, (user id, connection) pairs, counted for another TTL (chat.keepalive
    calls this every heartbeat): one script call per REFRESH_BATCH connections, so a heartbeat
    of 5,000 connections is ten Redis commands."""
    expires = time.time() + presence_ttl_seconds()
    if not _uses_redis():
        for user_id, connection in connections:
            _local_connections.setdefault(str(user_id), {})[connection] = expires
        return
    ttl = _key_ttl_seconds()
    client = _client()
    for start in range(0, len(connections), REFRESH_BATCH):
        batch = connections[start : start + REFRESH_BATCH]
        keys = [_key(user_id) for user_id, _connection in batch]
        await client.eval(
            _REFRESH_SCRIPT, len(keys), *keys, expires, ttl, *(name for _, name in batch)
        )


async def connection_closed(*, user_id: Any, connection: str) -> bool:
    """Forget a connection of a user; True if it was the user's last one."""
    now = time.time()
    if not _uses_redis():
        entries = _local_connections.get(str(user_id), {})
        entries.pop(connection, None)
        live = {name: until for name, until in entries.items() if until > now}
        if live:
            _local_connections[str(user_id)] = live
        else:
            _local_connections.pop(str(user_id), None)
        return not live
    remaining = await _client().eval(_DISCONNECT_SCRIPT, 1, _key(user_id), now, connection)
    return int(remaining) == 0


# KEYS: presence sets; ARGV: now. Returns the (1-based) indexes of the keys with a live entry.
_ONLINE_SCRIPT = """
local found = {}
for i, key in ipairs(KEYS) do
  if redis.call('ZCOUNT', key, ARGV[1], '+inf') > 0 then
    found[#found + 1] = i
  end
end
return found
"""


def _online_locally(user_ids: list[Any], now: float) -> set[str]:
    """Who has a live connection in this process (the embedded mode, without Redis)."""
    return {
        str(user_id)
        for user_id in user_ids
        if any(until > now for until in _local_connections.get(str(user_id), {}).values())
    }


def _online(user_ids: list[Any], counts: list[int]) -> set[str]:
    """The ids (as strings) whose count of live connections is not zero."""
    return {str(user_id) for user_id, count in zip(user_ids, counts, strict=True) if count}


async def online_among(user_ids: list[Any]) -> set[str]:
    """The ids (as strings) of the given users who have a live connection anywhere."""
    if not user_ids:
        return set()
    now = time.time()
    if not _uses_redis():
        return _online_locally(user_ids, now)
    # One script call for all of them (a connect asks about up to 1000 co-members): the
    # client packs one command and reads one short reply instead of one per user.
    prefix = _prefix()
    keys = [f"{prefix}:presence:{user_id}" for user_id in user_ids]
    found = await _client().eval(_ONLINE_SCRIPT, len(keys), *keys, now)
    return {str(user_ids[int(index) - 1]) for index in found}


def online_among_now(user_ids: list[Any]) -> set[str]:
    """``online_among`` for a thread (a service call): blocking, one pipeline to Redis.

    Who is online is best effort: while Redis is away, nobody is (an ``@here`` then reaches
    nobody rather than failing the post)."""
    if not user_ids:
        return set()
    now = time.time()
    if not _uses_redis():
        return _online_locally(user_ids, now)
    prefix = _configured_prefix()
    try:
        with _sync_client().pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(f"{prefix}:presence:{user_id}", now, "+inf")
            counts = pipe.execute()
    except redis.RedisError:
        return set()
    return _online(user_ids, counts)


async def typing_allowed(*, user_id: Any, channel_id: Any) -> bool:
    """True at most once per user and channel every TYPING_INTERVAL_MS, across processes."""
    key = f"{_prefix()}:typing:{user_id}:{channel_id}"
    if not _uses_redis():
        now = time.monotonic()
        if _local_typing.get(key, 0.0) > now:
            return False
        _local_typing[key] = now + TYPING_INTERVAL_MS / 1000
        return True
    return bool(await _client().set(key, "1", nx=True, px=TYPING_INTERVAL_MS))
