"""The per-process real-time state, in one object bound to the event loop that serves sockets.

Daphne serves every WebSocket and HTTP request of a process from one asyncio event loop.
``chatsite/asgi.py`` wraps the application in ``serving``: its first call binds a ``Realtime``
to that loop, and the object owns what the process shares between its sockets:

- ``layer``: the channel layer handle every send of ``chat.events`` goes through;
- ``redis()``: the async Redis client of ``chat.presence`` (presence counts, typing throttle);
- ``hub``: the process's subscriptions to channel groups, and the task that writes their
  events to the local sockets (``chat.fanout``);
- ``keeper``: the keep-alive task of every open socket (``chat.keepalive``);
- ``presence_outbox``: presence changes waiting to go out as one batch (``chat.events``);
- ``submit``: the one hand-off from a request thread to the loop (see ``submit``).

Code on the loop reaches it with ``current()``. Tests run each test on an event loop of its
own: ``current()`` binds a new object when the one it has belongs to a loop that no longer
runs, and the test fixture ``fresh_layer_per_loop`` closes it before its loop ends (``stop``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import types
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.utils import create_pool
from django.conf import settings
from redis import asyncio as aioredis

from chat import events, fanout, keepalive
from chatsite.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)


class Realtime:
    """What one process's sockets share: layer, fan-out hub, Redis client, keep-alive,
    presence outbox."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer: Any = get_channel_layer()
        self.hub = fanout.Hub(self.layer, loop)
        self.keeper = keepalive.Keeper(hub=self.hub)
        self.presence_outbox = events.PresenceOutbox(self)
        self._redis: aioredis.Redis | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # strong references until each is done
        # Connection ids: unique across processes and restarts (a dead process's presence
        # entries stay until they expire), and short.
        self._connection_prefix = f"ws.{secrets.token_hex(6)}."
        self._connection_numbers = itertools.count(1)

    def connection_id(self) -> str:
        """A new id for a WebSocket connection of this process: its entry in its user's
        presence set (chat.presence)."""
        return f"{self._connection_prefix}{next(self._connection_numbers)}"

    def redis(self) -> aioredis.Redis:
        """The async Redis client, on the channel layer's host and pool options."""
        if self._redis is None:
            config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
            hosts = config.get("hosts") or [{"address": settings.REDIS_URL}]
            host = hosts[0] if isinstance(hosts[0], dict) else {"address": hosts[0]}
            self._redis = aioredis.Redis(connection_pool=create_pool(host))
            _close_with_loop(self)
        return self._redis

    def spawn(self, coroutine: Awaitable[Any], what: str) -> asyncio.Task[Any]:
        """Run ``coroutine`` in a task of the loop, held until done; a failure is logged as
        ``<what>_failed`` (a warning while Redis is away, an error otherwise)."""
        task: asyncio.Task[Any] = self.loop.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))
        return task

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        if isinstance(error, REDIS_UNAVAILABLE):
            # The layer is away: a stored change is recovered by seq, presence by the next one.
            logger.warning("%s_failed: channel layer unavailable (%s)", what, error)
        else:
            logger.error("%s_failed", what, exc_info=error)

    def serves(self) -> bool:
        """Whether the loop is running, so a request thread can hand work to it."""
        return self.loop.is_running() and not self.loop.is_closed()

    async def close(self) -> None:
        """Stop the hub and close the Redis client (on the loop). Tests call this before their
        loop ends."""
        await self.hub.close()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose(close_connection_pool=True)


_current: Realtime | None = None


def current() -> Realtime:
    """The process's real-time object; call it on the serving event loop.

    The first call binds one to the running loop. A later call on another loop gets a new
    object only if the old one's loop stopped (each test has a loop of its own); two loops
    running at once in one process is a mistake, and raises.
    """
    global _current
    loop = asyncio.get_running_loop()
    if _current is None or _current.loop is not loop:
        if _current is not None and _current.serves():
            raise RuntimeError("chat.realtime is bound to another running event loop")
        _current = Realtime(loop)
    return _current


async def stop() -> None:
    """Close the process's object and forget it; the next ``current()`` starts a new one.
    Tests call this at the end of their event loop (``fresh_layer_per_loop``)."""
    global _current
    realtime, _current = _current, None
    if realtime is not None:
        await realtime.close()


def submit(function: Callable[..., Awaitable[Any]], *args: Any, what: str) -> None:
    """Run ``function(*args)`` on the serving loop, from any thread, without waiting for it.

    This is the one hand-off from a request thread (Django runs each request's sync code in a
    thread of its own) to the loop: ``loop.call_soon_threadsafe`` queues the start, and the
    loop runs queued callbacks first in, first out, so the calls of one thread start in the
    order it made them. Each runs in a task (``spawn``); its failure is logged, never raised
    to the caller. Without a running server loop (a management command, a test without a
    server) the call runs to completion in this thread instead (``async_to_sync``).
    """
    realtime = _current
    if realtime is None or not realtime.serves():
        async_to_sync(function)(*args)
        return
    realtime.loop.call_soon_threadsafe(lambda: realtime.spawn(function(*args), what))


def channel_layer() -> Any:
    """The channel layer: the serving loop's, or (with no server in this process) the
    configured one."""
    realtime = _current
    if realtime is not None and realtime.serves():
        return realtime.layer
    return get_channel_layer()


class Serving:
    """ASGI wrapper (``chatsite/asgi.py``): binds the process's ``Realtime`` to the loop of the
    server on its first call. Daphne does not run the ASGI lifespan protocol, so the first
    connection or request is the first moment the server's loop is known."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        current()
        await self.app(scope, receive, send)


def _close_with_loop(realtime: Realtime) -> None:
    """Close the Redis client when its loop closes (as channels_redis does for its pools), so
    a loop that ends without ``close`` (a test's) leaves no connection behind."""
    loop = realtime.loop
    original_close = loop.close

    def close(self: asyncio.AbstractEventLoop) -> None:
        client, realtime._redis = realtime._redis, None
        if client is not None and not loop.is_running():
            loop.run_until_complete(client.aclose(close_connection_pool=True))
        loop.close = original_close  # type: ignore[method-assign]
        original_close()

    loop.close = types.MethodType(close, loop)  # type: ignore[method-assign]
