"""The one owner of real-time events: group names, payload shapes, and sending them.

Services call the ``notify_*`` functions inside their transaction; the event leaves only when
the transaction commits (``transaction.on_commit``), so nobody hears of a change that could
still roll back. Each event is encoded to JSON once, here, and travels through the channel
layer as text that every consumer forwards unchanged.

Payloads hold primitives only: ids as strings, ISO-8601 times, ints, and a ``type``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Iterable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from chat.models import Message
from chatsite.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

# The channel-layer message type that consumers handle (``chat_event``).
LAYER_EVENT_TYPE = "chat.event"


def channel_group(channel_id: Any) -> str:
    return f"chat.channel.{channel_id}"


def user_group(user_id: Any) -> str:
    return f"chat.user.{user_id}"


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def author_data(user: Any) -> dict[str, Any]:
    return {"id": str(user.pk), "username": user.username, "display_name": user.display_name}


def message_data(message: Message) -> dict[str, Any]:
    """A message in its REST shape (docs/api.md), shared by the API and the events."""
    return {
        "id": str(message.pk),
        "channel_id": str(message.channel_id),
        "user_id": str(message.user_id),
        "content": message.content,
        "created_at": _iso(message.created_at),
        "edited_at": _iso(message.edited_at),
        "deleted": message.deleted_at is not None,
        "seq": message.seq,
        "change_seq": message.change_seq,
        "client_id": str(message.client_id) if message.client_id else None,
        "author": author_data(message.user),
    }


def message_event(message: Message, kind: str) -> dict[str, Any]:
    """The event of one change to a message: created, updated or deleted."""
    if kind == "message.deleted":
        return {
            "type": kind,
            "seq": message.change_seq,
            "id": str(message.pk),
            "channel_id": str(message.channel_id),
        }
    return {"type": kind, "seq": message.change_seq, "message": message_data(message)}


def _encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def layer_message(event: dict[str, Any], **routing: Any) -> dict[str, Any]:
    """Wrap an event for the channel layer, encoded once for every recipient.

    ``routing`` keys (``channel_id``, ``seq``) travel beside the text so a consumer can skip
    a change it already replayed from the database without decoding the text.
    """
    return {"type": LAYER_EVENT_TYPE, "text": _encode(event), **routing}


def _send_now(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _serving_loop()
    if loop is None:
        async_to_sync(layer.group_send)(group, message)
        return
    # In a request thread of a running server: hand the send to the server's event loop and
    # let the response go. Sends keep their order (the loop runs callbacks first in, first
    # out), and a client that sees a gap in seq fetches what it missed.
    loop.call_soon_threadsafe(_start_send, loop, layer, group, message)


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the ASGI server this thread works for, if it is running."""
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _start_send(
    loop: asyncio.AbstractEventLoop, layer: Any, group: str, message: dict[str, Any]
) -> None:
    task = loop.create_task(layer.group_send(group, message))
    _sending.add(task)
    task.add_done_callback(_sent)


_sending: set[asyncio.Task[None]] = set()  # strong references until each send is done


def _sent(task: asyncio.Task[None]) -> None:
    _sending.discard(task)
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    if isinstance(error, REDIS_UNAVAILABLE):
        # The layer is away: the write stands, and clients recover the event by seq.
        logger.warning("events.send_failed: channel layer unavailable (%s)", error)
    else:
        logger.error("events.send_failed", exc_info=error)


def _send_on_commit(group: str, message: dict[str, Any]) -> None:
    # robust: a channel layer that is down must not undo or fail a committed write; the
    # clients catch up by seq when they see the gap.
    transaction.on_commit(lambda: _send_now(group, message), robust=True)


def notify_message(message: Message, kind: str) -> None:
    """Queue ``message.created`` / ``message.updated`` / ``message.deleted`` for commit."""
    event = layer_message(
        message_event(message, kind), channel_id=str(message.channel_id), seq=message.change_seq
    )
    _send_on_commit(channel_group(message.channel_id), event)


def notify_membership(*, user_id: Any, channel_id: Any, joined: bool) -> None:
    """Tell a user's open connections to start or stop following a channel."""
    _send_on_commit(
        user_group(user_id),
        {"type": "chat.membership", "channel_id": str(channel_id), "joined": joined},
    )


def notify_user_deactivated(*, user_id: Any) -> None:
    """Close every open connection of a user (4403)."""
    _send_on_commit(user_group(user_id), {"type": "chat.deactivated"})


# Ephemeral events: sent at once from the consumer, never stored, so they need no commit.


async def send_typing(*, channel_id: Any, user: Any) -> None:
    """Tell a channel's subscribers that ``user`` is typing (consumers skip the typist)."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": "typing", "channel_id": str(channel_id), "user": author_data(user)}
    await layer.group_send(
        channel_group(channel_id),
        {"type": "chat.typing", "user_id": str(user.pk), "text": _encode(event)},
    )


async def send_presence(*, user_id: Any, status: str, channel_ids: Iterable[Any]) -> None:
    """Tell the subscribers of a user's channels that the user is ``online`` or ``offline``.

    The change waits up to PRESENCE_BATCH_SECONDS in this process's outbox and goes out with
    the others of that moment, one layer message per channel: when a room's members connect
    together (a restart, the morning), every subscriber handles one message per batch rather
    than one per member. Each change still reaches clients as its own ``presence`` event.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": "presence", "user_id": str(user_id), "status": status}
    change = {"user_id": str(user_id), "status": status, "text": _encode(event)}
    _presence_outbox(layer).add(change, [str(channel_id) for channel_id in channel_ids])


class _PresenceOutbox:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.pending: dict[str, list[dict[str, str]]] = {}
        self.flushing: asyncio.Task[None] | None = None

    def add(self, change: dict[str, str], channel_ids: list[str]) -> None:
        for channel_id in channel_ids:
            self.pending.setdefault(channel_id, []).append(change)
        if self.pending and (self.flushing is None or self.flushing.done()):
            self.flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Changes added while a batch is being sent go out with the next one.
        while self.pending:
            await asyncio.sleep(settings.PRESENCE_BATCH_SECONDS)
            pending, self.pending = self.pending, {}
            try:
                await asyncio.gather(
                    *(
                        self.layer.group_send(
                            channel_group(channel_id),
                            {"type": "chat.presence", "changes": changes},
                        )
                        for channel_id, changes in pending.items()
                    )
                )
            except REDIS_UNAVAILABLE as exc:
                # Presence is best effort: the next snapshot or change corrects it.
                logger.warning("presence.send_failed: channel layer unavailable (%s)", exc)
            except Exception:
                logger.exception("presence.send_failed")


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _PresenceOutbox] = (
    weakref.WeakKeyDictionary()
)


def _presence_outbox(layer: Any) -> _PresenceOutbox:
    loop = asyncio.get_running_loop()
    outbox = _outboxes.get(loop)
    if outbox is None or outbox.layer is not layer:
        outbox = _outboxes[loop] = _PresenceOutbox(layer)
    return outbox
