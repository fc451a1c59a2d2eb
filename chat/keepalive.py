"""One keep-alive per process for all its WebSocket connections.

Every heartbeat each open connection must re-add its channel-layer groups (the layer lets a
group entry expire after a few heartbeats, so the entries of a process that died fall away)
and refresh its presence entry (chat.presence). One task per event loop does that for every
connection of the process, with the presence refreshes pipelined, instead of a task and a few
Redis round trips per connection: idle connections then cost next to nothing between
heartbeats (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from django.conf import settings

from chat import presence

logger = logging.getLogger(__name__)


class KeptConnection(Protocol):
    channel_layer: Any
    channel_name: str

    def keep_alive_groups(self) -> list[str]: ...

    def keep_alive_user_id(self) -> Any: ...


class Keeper:
    """The connections of one event loop and the task that refreshes them."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.task: asyncio.Task[None] | None = None

    def add(self, connection: KeptConnection) -> None:
        self.connections.add(connection)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, connection: KeptConnection) -> None:
        self.connections.discard(connection)
        if not self.connections and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.connections:
            await asyncio.sleep(settings.HEARTBEAT_SECONDS)
            try:
                await refresh(list(self.connections))
            except Exception:
                logger.exception("ws.keep_alive_failed")


async def refresh(connections: list[KeptConnection]) -> None:
    """Re-add every connection's groups, then refresh their presence in pipelines.

    Only layers whose group entries expire (``group_expiry``: RedisChannelLayer, the in-memory
    layer) need the re-adds; the pub/sub layer keeps a group as long as its process lives.
    """
    for connection in connections:
        if not hasattr(connection.channel_layer, "group_expiry"):
            continue
        for group in connection.keep_alive_groups():
            await connection.channel_layer.group_add(group, connection.channel_name)
    await presence.connections_refreshed(
        [(connection.keep_alive_user_id(), connection.channel_name) for connection in connections]
    )


_keepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Keeper] = weakref.WeakKeyDictionary()


def keeper() -> Keeper:
    """The keeper of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _keepers.get(loop)
    if found is None:
        found = _keepers[loop] = Keeper()
    return found
