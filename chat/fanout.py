"""Live events of channels, received once per process and written to every local socket.

A process has one channel-layer channel of its own, the hub's, and puts it in the group of
every channel that one of its sockets follows; a group leaves the layer a few seconds after
its last local follower (``LINGER_SECONDS``), so a reconnecting client does not make the
process unsubscribe and subscribe again. One task reads that channel. For each event it finds
the local sockets that follow the event's channel (the layer message names it:
``channel_id``) and hands the event to each (``Follower.live``), which filters it (replayed
already, held for a missing seq, the typist's own notice, presence already known) and writes
the encoded frame straight to its connection: the frame is built once per event, not once
per socket (docs/architecture.md, "Delivery of live events").

A user's own events (``chat.user.<id>``: membership, deactivation, sign-out, mentions, read
markers) take the same way: the hub's channel joins the group of every user with a socket in
the process, and such an event (it names its user: ``to_user``) goes to that user's local
sockets. A socket has no layer channel of its own, so no queue, receive task or Redis
subscription per connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from chat import events
from chatsite import metrics
from chatsite.cache import REDIS_UNAVAILABLE
from chatsite.ws_server import text_frame

logger = logging.getLogger(__name__)

# How long a channel's group stays on the layer after its last local follower left.
LINGER_SECONDS = 5.0
# After a failed read of the hub's channel (RedisChannelLayer while Redis is away).
RETRY_SECONDS = 1.0


class Follower(Protocol):
    def live(self, delivery: Delivery) -> int: ...


class Delivery:
    """One layer message on its way to the local followers of its channel; each frame is
    encoded once for all of them."""

    __slots__ = ("frames", "message")

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self.frames: dict[str, bytes] = {}

    def frame(self, text: str) -> bytes:
        frame = self.frames.get(text)
        if frame is None:
            frame = self.frames[text] = text_frame(text.encode("utf-8"))
        return frame


class _Group:
    __slots__ = ("followers", "name", "ready")

    def __init__(self, name: str, ready: asyncio.Future[None]) -> None:
        self.name = name  # the layer's group
        self.followers: set[Follower] = set()
        # The subscribe under way; None once it succeeded (no finished task kept per group:
        # a process follows a group per local user).
        self.ready: asyncio.Future[None] | None = ready

    def subscribed(self) -> bool:
        ready = self.ready
        return ready is None or (
            ready.done() and not ready.cancelled() and ready.exception() is None
        )


class Hub:
    """The process's subscriptions to channel and user groups and the task that reads them
    (``chat.realtime`` holds the one of the process: ``realtime.current().hub``)."""

    def __init__(self, layer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.layer = layer
        self.loop = loop
        self.channel_name: str | None = None
        self.groups: dict[str, _Group] = {}  # by channel id
        self.users: dict[str, _Group] = {}  # by user id
        self.reader: asyncio.Task[None] | None = None
        self._opening: asyncio.Future[str] | None = None
        self._leaving: dict[str, asyncio.Future[None]] = {}  # by layer group

    # -- following --------------------------------------------------------------------------

    async def join(self, channel_id: str, follower: Follower) -> None:
        """Follow ``channel_id``; returns once the process's subscription is in place, so
        every change committed after this returns reaches ``follower``."""
        await self._follow(self.groups, channel_id, events.channel_group(channel_id), follower)

    def leave(self, channel_id: str, follower: Follower) -> None:
        self._unfollow(self.groups, channel_id, follower)

    async def join_user(self, user_id: Any, follower: Follower) -> None:
        """Take the events of user ``user_id`` (``events.user_group``) to ``follower``; returns
        once the process's subscription is in place."""
        key = str(user_id)
        await self._follow(self.users, key, events.user_group(key), follower)

    def leave_user(self, user_id: Any, follower: Follower) -> None:
        self._unfollow(self.users, str(user_id), follower)

    def followers(self, channel_id: str) -> int:
        group = self.groups.get(channel_id)
        return len(group.followers) if group is not None else 0

    async def _follow(
        self, table: dict[str, _Group], key: str, name: str, follower: Follower
    ) -> None:
        group = table.get(key)
        if group is None:
            group = table[key] = _Group(name, self.loop.create_task(self._subscribe(name)))
        group.followers.add(follower)
        ready = group.ready
        if ready is None:
            return
        try:
            await asyncio.shield(ready)
            group.ready = None
        except BaseException:
            group.followers.discard(follower)
            if ready.done() and table.get(key) is group:
                del table[key]  # failed: the next join tries again
            raise

    def _unfollow(self, table: dict[str, _Group], key: str, follower: Follower) -> None:
        group = table.get(key)
        if group is None:
            return
        group.followers.discard(follower)
        if not group.followers:
            self.loop.call_later(LINGER_SECONDS, self._unsubscribe_if_unfollowed, table, key)

    async def _channel(self) -> str:
        if self.channel_name is None:
            if self._opening is None:
                self._opening = self.loop.create_task(self.layer.new_channel())
            try:
                name = await asyncio.shield(self._opening)
            except BaseException:
                self._opening = None
                raise
            if self.channel_name is None:
                self.channel_name = name
                self.reader = self.loop.create_task(self._read(name))
        return self.channel_name

    async def _subscribe(self, name: str) -> None:
        leaving = self._leaving.get(name)
        if leaving is not None:
            await asyncio.gather(leaving, return_exceptions=True)
        channel = await self._channel()
        await self.layer.group_add(name, channel)

    def _unsubscribe_if_unfollowed(self, table: dict[str, _Group], key: str) -> None:
        group = table.get(key)
        if group is None or group.followers or not (group.ready is None or group.ready.done()):
            return
        del table[key]
        if not group.subscribed():
            return
        name = group.name
        leaving = self.loop.create_task(self._unsubscribe(name))
        self._leaving[name] = leaving
        leaving.add_done_callback(lambda _: self._forget_leaving(name, leaving))

    async def _unsubscribe(self, name: str) -> None:
        try:
            if self.channel_name is not None:
                await self.layer.group_discard(name, self.channel_name)
        except REDIS_UNAVAILABLE as exc:
            # The pub/sub layer subscribes again after an outage; an expiring layer lets the
            # entry lapse on its own.
            logger.warning("fanout.unsubscribe_failed: %s: %s", type(exc).__name__, exc)

    def _forget_leaving(self, name: str, task: asyncio.Future[None]) -> None:
        if self._leaving.get(name) is task:
            del self._leaving[name]

    async def refresh(self) -> None:
        """Once per heartbeat (chat.keepalive): re-add the groups on layers whose group
        entries expire (RedisChannelLayer, the in-memory layer)."""
        if self.channel_name is None or not hasattr(self.layer, "group_expiry"):
            return
        for group in [*self.groups.values(), *self.users.values()]:
            if group.followers and group.subscribed():
                await self.layer.group_add(group.name, self.channel_name)

    # -- delivering -------------------------------------------------------------------------

    async def _read(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except REDIS_UNAVAILABLE as exc:
                logger.warning("fanout.receive_failed: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:
                logger.exception("fanout.receive_failed")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.deliver(message)

    def deliver(self, message: dict[str, Any]) -> int:
        """Hand ``message`` to the local followers of its user (``to_user``) or channel
        (``channel_id``); the frames written."""
        user_id = message.get("to_user")
        if user_id is not None:
            group = self.users.get(user_id) if isinstance(user_id, str) else None
        elif message.get("type") in events.CHANNEL_MESSAGE_TYPES:
            channel_id = message.get("channel_id")
            group = self.groups.get(channel_id) if isinstance(channel_id, str) else None
        else:
            group = None  # a user's event without its user (an older sender): nobody's
        if group is None or not group.followers:
            return 0
        delivery = Delivery(message)
        written = 0
        for follower in tuple(group.followers):  # a follower may leave on the way
            try:
                written += follower.live(delivery)
            except Exception:
                logger.exception("fanout.delivery_failed")
        if written:
            metrics.DELIVERIES.inc(written)
        return written

    async def close(self) -> None:
        """Stop reading (tests, at the end of their event loop)."""
        reader, self.reader = self.reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        self.channel_name = None
        self._opening = None
        self.groups.clear()
        self.users.clear()
