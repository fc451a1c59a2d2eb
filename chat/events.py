"""The one owner of real-time events: group names, payload shapes, and sending them.

A channel's events name it (``channel_id``) beside the text, and a user's own events name
the user (``to_user``): each process receives them once and hands them to its local sockets
by it (``chat.fanout``).

Services call the ``notify_*`` functions inside their transaction; the event leaves only when
the transaction commits (``transaction.on_commit``), so nobody hears of a change that could
still roll back. Each event is encoded to JSON once, here, and travels through the channel
layer as text that every consumer forwards unchanged.

It also builds the events a consumer sends to its own client (``welcome_event``,
``subscribed_event``, ``error_event``, ...), so every shape a client receives is built here.
docs/asyncapi.yaml describes each of them, and the WebSocket tests check every event sent
against it.

Payloads hold primitives only: ids as strings, ISO-8601 times, ints, and a ``type``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from chat import realtime
from chat.models import Channel, Membership, Message
from chat.selectors.dms import dm_title
from chatsite import metrics
from chatsite.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

# The channel-layer message type that consumers handle (``chat_event``).
LAYER_EVENT_TYPE = "chat.event"
# The layer messages of a channel's group; the hub hands them to the channel's followers.
CHANNEL_MESSAGE_TYPES = frozenset((LAYER_EVENT_TYPE, "chat.typing", "chat.presence"))


def channel_group(channel_id: Any) -> str:
    return f"chat.channel.{channel_id}"


def user_group(user_id: Any) -> str:
    return f"chat.user.{user_id}"


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def author_data(user: Any) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.display_name,
        "is_bot": user.is_bot,
    }


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
        "author": _message_author(message),
        "rendered": message.rendered,
        "parent_id": str(message.parent_id) if message.parent_id else None,
        "reply_count": message.reply_count,
        "last_reply_at": _iso(message.last_reply_at),
        "reactions": message.reactions,
        "action": message.action,
        "attachments": [] if message.deleted_at is not None else message.attachments,
        "icon_emoji": message.sender_icon or None,
    }


def _message_author(message: Message) -> dict[str, Any]:
    """The author, with the name an incoming webhook's caller chose shown instead of the
    bot's own (docs/integrations.md)."""
    author = author_data(message.user)
    if message.sender_name:
        author["display_name"] = message.sender_name
    return author


def thread_data(message: Message) -> dict[str, Any]:
    """For a reply's events: its thread's parent and the parent's reply count and latest
    reply time, as they stand after the change (the parent itself takes no seq)."""
    if message.parent_id is None:
        return {}
    parent = message.parent
    assert parent is not None
    return {
        "parent_id": str(message.parent_id),
        "reply_count": parent.reply_count,
        "last_reply_at": _iso(parent.last_reply_at),
    }


def message_event(message: Message, kind: str) -> dict[str, Any]:
    """The event of one change to a message: created, updated or deleted."""
    if kind == "message.deleted":
        return {
            "type": kind,
            "seq": message.change_seq,
            "id": str(message.pk),
            "channel_id": str(message.channel_id),
            **thread_data(message),
        }
    return {
        "type": kind,
        "seq": message.change_seq,
        "message": message_data(message),
        **thread_data(message),
    }


def encode(event: dict[str, Any]) -> str:
    """An event as the text frame clients receive: compact JSON."""
    return json.dumps(event, separators=(",", ":"))


def layer_message(event: dict[str, Any], **routing: Any) -> dict[str, Any]:
    """Wrap an event for the channel layer, encoded once for every recipient.

    ``routing`` keys (``channel_id``, ``seq``) travel beside the text so a consumer can skip
    a change it already replayed from the database without decoding the text; ``about`` names
    the channel a user's own event concerns.
    """
    return {"type": LAYER_EVENT_TYPE, "text": encode(event), **routing}


def _send_now(group: str, message: dict[str, Any]) -> None:
    # From a request thread of a running server the send is handed to the server's event
    # loop and the response goes without waiting for Redis; sends keep their order
    # (chat.realtime.submit), and a client that sees a gap in seq fetches what it missed.
    realtime.submit(_group_send, group, message, what="events.send")


async def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = realtime.channel_layer()
    if layer is not None:
        with metrics.timed_publish():
            await layer.group_send(group, message)


def _send_on_commit(group: str, message: dict[str, Any]) -> None:
    # robust: a channel layer that is down must not undo or fail a committed write; the
    # clients catch up by seq when they see the gap.
    transaction.on_commit(lambda: _send_now(group, message), robust=True)


def _send_to_user_on_commit(user_id: Any, message: dict[str, Any]) -> None:
    """Queue ``message`` for the sockets of one user, on every process; it names the user
    (``to_user``), by which each process's hub finds the local ones (chat.fanout)."""
    _send_on_commit(user_group(user_id), {**message, "to_user": str(user_id)})


def notify_message(message: Message, kind: str) -> None:
    """Queue ``message.created`` / ``message.updated`` / ``message.deleted`` for commit."""
    event = layer_message(
        message_event(message, kind), channel_id=str(message.channel_id), seq=message.change_seq
    )
    _send_on_commit(channel_group(message.channel_id), event)


def notify_membership(*, user_id: Any, channel: Channel, joined: bool) -> None:
    """Tell a user's open connections to start or stop following a channel, and tell the
    client with a ``membership`` event: ``channel`` as that user sees it (``channel_data``
    annotations: ``is_member``, ``unread_count``, and ``dm_members`` for a direct message).

    A connection that starts following replays the channel's changes after the ``last_seq``
    of this shape, so nothing committed between this event and its subscribe is missed.
    """
    event = membership_event(channel_detail_data(channel, viewer_id=user_id), joined=joined)
    _send_to_user_on_commit(
        user_id,
        {
            "type": "chat.membership",
            "channel_id": str(channel.pk),
            "joined": joined,
            "last_seq": channel.last_seq,
            "text": encode(event),
        },
    )


def notify_user_deactivated(*, user_id: Any) -> None:
    """Close every open connection of a user (4403)."""
    _send_to_user_on_commit(user_id, {"type": "chat.deactivated"})


def notify_user_signed_out(*, user_id: Any) -> None:
    """Close every open connection of a user (4401): they signed out everywhere, or their
    password changed."""
    _send_to_user_on_commit(user_id, {"type": "chat.signed_out"})


# Events for one socket, built here and sent by the consumer (chat/consumers) to its client.


def welcome_event(
    user: Any,
    channels: Iterable[tuple[str, str, int]],
    heartbeat_s: float,
    *,
    dm_members: dict[str, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """The first event of a connection: who the user is and the channels it follows, as
    (id, name, last_seq), each with its ``kind``; direct messages (``dm_members``: their
    members in the author shape) also list their ``members``."""
    dm_members = dm_members or {}
    listed = []
    for channel_id, name, last_seq in channels:
        entry: dict[str, Any] = {"id": channel_id, "name": name, "last_seq": last_seq}
        if channel_id in dm_members:
            entry.update(kind=Channel.Kind.DM.value, members=dm_members[channel_id])
        else:
            entry["kind"] = Channel.Kind.CHANNEL.value
        listed.append(entry)
    return {
        "type": "welcome",
        "user": {**author_data(user), "role": user.role},
        "channels": listed,
        "heartbeat_s": heartbeat_s,
    }


def subscribed_event(
    channel_id: str,
    last_seq: int,
    *,
    replayed_to: int | None = None,
    trimmed_seq: int | None = None,
) -> dict[str, Any]:
    """A subscribe done; with ``replayed_to``, the replay stopped there and more follow; with
    ``trimmed_seq``, retention deleted history after the client's ``since_seq``."""
    event: dict[str, Any] = {"type": "subscribed", "channel_id": channel_id}
    if replayed_to is not None:
        event.update(has_more=True, replayed_to=replayed_to)
    if trimmed_seq is not None:
        event["trimmed_seq"] = trimmed_seq
    event["last_seq"] = last_seq
    return event


def unsubscribed_event(channel_id: str, last_seq: int) -> dict[str, Any]:
    return {"type": "unsubscribed", "channel_id": channel_id, "last_seq": last_seq}


def pong_event(last_seqs: dict[str, int] | None = None) -> dict[str, Any]:
    """The answer to a ping; with ``last_seqs``, the last seq of each channel asked about."""
    if last_seqs is None:
        return {"type": "pong"}
    return {"type": "pong", "channels": last_seqs}


def ack_event(message: dict[str, Any]) -> dict[str, Any]:
    """To the sender of ``message.send``: the stored message (its REST shape)."""
    return {"type": "ack", "client_id": message["client_id"], "message": message}


def command_done_event(
    *, command: str, channel_id: Any, message: dict[str, Any] | None, client_id: Any
) -> dict[str, Any]:
    """To the sender of ``command.run``: which command ran, and the message it posted."""
    return {
        "type": "command.done",
        "command": command,
        "channel_id": str(channel_id),
        "client_id": str(client_id) if client_id else None,
        "message": message,
    }


def error_event(
    code: str, detail: str, ref: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """What went wrong (``code``, docs/api.md), and the frame or request that caused it."""
    event: dict[str, Any] = {"type": "error", "code": code, "detail": detail, "ref": ref}
    if fields:
        event["fields"] = fields
    return event


def presence_event(user_id: Any, status: str) -> dict[str, Any]:
    return {"type": "presence", "user_id": str(user_id), "status": status}


def presence_batch_event(changes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Several presence changes in one event, (user id, status) each: what a client that
    asked for batches (``?presence=batch``, docs/api.md) gets instead of one ``presence``
    event per change."""
    return {
        "type": "presence",
        "users": [{"user_id": user_id, "status": status} for user_id, status in changes],
    }


def typing_event(channel_id: Any, user: Any) -> dict[str, Any]:
    return {"type": "typing", "channel_id": str(channel_id), "user": author_data(user)}


# Ephemeral events: sent at once from the consumer, never stored, so they need no commit.


async def send_typing(*, channel_id: Any, user: Any) -> None:
    """Tell a channel's subscribers that ``user`` is typing (consumers skip the typist)."""
    layer = realtime.current().layer
    if layer is None:
        return
    await layer.group_send(
        channel_group(channel_id),
        {
            "type": "chat.typing",
            "channel_id": str(channel_id),
            "user_id": str(user.pk),
            "text": encode(typing_event(channel_id, user)),
        },
    )


async def send_presence(*, user_id: Any, status: str, channel_ids: Iterable[Any]) -> None:
    """Tell the subscribers of a user's channels that the user is ``online`` or ``offline``.

    The change waits up to PRESENCE_BATCH_SECONDS in this process's outbox and goes out with
    the others of that moment, one layer message per channel: when a room's members connect
    together (a restart, the morning), every subscriber handles one message per batch rather
    than one per member. Each change still reaches clients as its own ``presence`` event.
    """
    outbox = realtime.current().presence_outbox
    if outbox.realtime.layer is None:
        return
    change = {
        "user_id": str(user_id),
        "status": status,
        "text": encode(presence_event(user_id, status)),
    }
    outbox.add(change, [str(channel_id) for channel_id in channel_ids])


class PresenceOutbox:
    """Presence changes waiting to go out, per channel (``chat.realtime`` holds the one of
    the process)."""

    def __init__(self, owner: realtime.Realtime) -> None:
        self.realtime = owner
        self.pending: dict[str, list[dict[str, str]]] = {}
        self.flushing: asyncio.Task[None] | None = None

    def add(self, change: dict[str, str], channel_ids: list[str]) -> None:
        for channel_id in channel_ids:
            self.pending.setdefault(channel_id, []).append(change)
        if self.pending and (self.flushing is None or self.flushing.done()):
            self.flushing = self.realtime.loop.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Changes added while a batch is being sent go out with the next one.
        layer = self.realtime.layer
        while self.pending:
            await asyncio.sleep(settings.PRESENCE_BATCH_SECONDS)
            pending, self.pending = self.pending, {}
            try:
                await asyncio.gather(
                    *(
                        layer.group_send(
                            channel_group(channel_id),
                            {
                                "type": "chat.presence",
                                "channel_id": channel_id,
                                "changes": changes,
                                # The whole batch in the batched shape, encoded once here.
                                "text": encode(
                                    presence_batch_event(
                                        (change["user_id"], change["status"]) for change in changes
                                    )
                                ),
                            },
                        )
                        for channel_id, changes in pending.items()
                    )
                )
            except REDIS_UNAVAILABLE as exc:
                # Presence is best effort: the next snapshot or change corrects it.
                logger.warning("presence.send_failed: channel layer unavailable (%s)", exc)
            except Exception:
                logger.exception("presence.send_failed")


# Conversations: the channel shape, membership, channel updates and read markers
# (docs/architecture.md, "Direct messages" and "The sidebar's events").


def channel_data(channel: Channel, *, viewer_id: Any = None) -> dict[str, Any]:
    """A channel in the REST list shape (docs/api.md), as ``viewer_id`` sees it.

    The per-user fields come from the selectors' annotations (``is_member``,
    ``unread_count``, ``unread_mentions``, ``notify``, ``muted``); a direct message also lists
    its ``members`` (``dm_members``, attached by ``chat.selectors``) and is titled by them.
    """
    data: dict[str, Any] = {
        "id": str(channel.pk),
        "name": channel.name,
        "kind": channel.kind,
        "title": channel.title,
        "topic": channel.topic,
        "is_private": channel.is_private,
        "is_member": bool(getattr(channel, "is_member", False)),
        "last_seq": channel.last_seq,
        "unread_count": int(getattr(channel, "unread_count", 0) or 0),
        "unread_mentions": int(getattr(channel, "unread_mentions", 0) or 0),
    }
    # The viewer's own notification settings (docs/api.md, "Mentions"): members only.
    if data["is_member"]:
        data["notify"] = getattr(channel, "notify", None) or Membership.Notify.MENTIONS.value
        data["muted"] = bool(getattr(channel, "muted", False))
    else:
        data["notify"] = None
        data["muted"] = False
    members = getattr(channel, "dm_members", None)
    if channel.is_dm and members is not None:
        data["title"] = dm_title(members, viewer_id)
        data["members"] = [author_data(member) for member in members]
    return data


def channel_detail_data(channel: Channel, *, viewer_id: Any = None) -> dict[str, Any]:
    """The list shape, plus when the channel was created and whether it is archived."""
    data = channel_data(channel, viewer_id=viewer_id)
    data["created_at"] = _iso(channel.created_at)
    data["archived"] = channel.is_archived
    data["retention_days"] = channel.retention_days
    data["trimmed_seq"] = channel.trimmed_seq
    return data


def membership_event(channel: dict[str, Any], *, joined: bool) -> dict[str, Any]:
    """To a user's own sockets: they joined (or were added to) a channel, or left it."""
    return {"type": "membership", "channel": channel, "joined": joined}


def channel_updated_event(channel: Channel) -> dict[str, Any]:
    """A channel's title or topic changed: its detail shape without the per-user fields
    (``is_member``, ``unread_count``, ``unread_mentions``, ``notify``, ``muted``), which each
    client keeps from its own list."""
    data = channel_detail_data(channel)
    for per_user in ("is_member", "unread_count", "unread_mentions", "notify", "muted"):
        del data[per_user]
    return {"type": "channel.updated", "channel": data}


def mention_event(message: Message, kind: str, *, alert: bool) -> dict[str, Any]:
    """To a mentioned user's own sockets: a message that mentions them (or a direct message),
    its ``kind`` and whether it should alert them (``notify``: false in a muted channel or
    one set to ``none``)."""
    return {"type": "mention", "message": message_data(message), "kind": kind, "notify": alert}


def notify_mention(*, user_id: Any, message: Message, kind: str, alert: bool) -> None:
    """Queue ``mention`` for the mentioned user's sockets, on every process."""
    # ``about``: the channel it concerns, for sockets of a bot token limited to some channels.
    event = layer_message(mention_event(message, kind, alert=alert), about=str(message.channel_id))
    _send_to_user_on_commit(user_id, event)


def read_event(channel_id: Any, seq: int) -> dict[str, Any]:
    return {"type": "read", "channel_id": str(channel_id), "seq": seq}


def notify_channel_updated(channel: Channel) -> None:
    """Queue ``channel.updated`` for every socket that follows the channel."""
    _send_on_commit(
        channel_group(channel.pk),
        layer_message(channel_updated_event(channel), channel_id=str(channel.pk)),
    )


def notify_read(*, user_id: Any, channel_id: Any, seq: int) -> None:
    """Queue ``read`` for the user's own sockets: their read marker moved (another tab)."""
    _send_to_user_on_commit(
        user_id, layer_message(read_event(channel_id, seq), about=str(channel_id))
    )
