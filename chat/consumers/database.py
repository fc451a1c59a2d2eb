"""The consumer's database hops: one ``database_sync_to_async`` call around one selector or
service each, inside ``rls.acting_as_user(user)`` so row-level security sees the user."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from chat import events, selectors, services
from chat.exceptions import NotFound
from chat.models import Message
from chat.read_threads import connect_read
from chat.validators import DM_NAME_PREFIX
from chatsite import rls

# A replay reads the database this many changes at a time, so a subscribe holds one page in
# memory while it waits for a slow reader (chatsite/ws_server.py), never the whole backlog.
REPLAY_PAGE_SIZE = 100


@connect_read
def member_channels(user: Any) -> list[tuple[str, str, int]]:
    """The user's channels as (id, name, last_seq)."""
    with rls.acting_as_user(user):
        rows = selectors.channel_ids_of_member(user=user)
    return [(str(channel_id), name, last_seq) for channel_id, name, last_seq in rows]


@connect_read
def member_channels_and_dms(
    user: Any,
) -> tuple[list[tuple[str, str, int]], dict[str, list[dict[str, str]]] | None]:
    """The user's channels as (id, name, last_seq), and the members of their direct messages
    if they have any (None otherwise): one hop for a connect's second read."""
    with rls.acting_as_user(user):
        rows = selectors.channel_ids_of_member(user=user)
        channels = [(str(channel_id), name, last_seq) for channel_id, name, last_seq in rows]
        if not any(name.startswith(DM_NAME_PREFIX) for _id, name, _seq in channels):
            return channels, None
        found = selectors.dm_members_of(user=user)
    members = {
        channel_id: [events.author_data(member) for member in people]
        for channel_id, people in found.items()
    }
    return channels, members


@database_sync_to_async
def dm_members(user: Any) -> dict[str, list[dict[str, str]]]:
    """{channel id: its members (author shape)} of the user's direct messages."""
    with rls.acting_as_user(user):
        found = selectors.dm_members_of(user=user)
    return {
        channel_id: [events.author_data(member) for member in members]
        for channel_id, members in found.items()
    }


@database_sync_to_async
def left_channel_text(user: Any, channel_id: str) -> str | None:
    """The ``membership`` event (joined false) of a channel the user is no longer in, found
    by a heartbeat's re-check; None if the channel is gone. Read as the service: a private
    channel is invisible to its former member."""
    with rls.acting_as_service():
        channel = selectors.channel_left_by(user=user, channel_id=channel_id)
    if channel is None:
        return None
    data = events.channel_detail_data(channel, viewer_id=user.pk)
    return events.encode(events.membership_event(data, joined=False))


@connect_read
def co_member_ids(user: Any) -> list[int]:
    with rls.acting_as_user(user):
        return selectors.co_member_ids(user=user)


@connect_read
def channel_last_seq(user: Any, channel_id: str) -> int:
    """The last seq of a channel the user can see (NotFound otherwise)."""
    with rls.acting_as_user(user):
        return selectors.channel_get(user=user, channel_id=channel_id).last_seq


@connect_read
def last_seqs(user: Any, channel_ids: list[str]) -> dict[str, int]:
    with rls.acting_as_user(user):
        return selectors.channel_last_seqs(user=user, channel_ids=channel_ids)


@connect_read
def changes_page(
    user: Any, channel_id: str, since_seq: int, after_seq: int, limit: int
) -> tuple[int, int, list[str], int, bool]:
    """One page of a replay: (the channel's last_seq, its trimmed_seq, the changes after
    ``after_seq`` as event texts, the seq of the last of them, whether more follow)."""
    with rls.acting_as_user(user):
        channel, changes, more = selectors.changes_since(
            user=user, channel_id=channel_id, since_seq=after_seq, limit=limit
        )
        texts = [replay_text(message, since_seq) for message in changes]
    cursor = changes[-1].change_seq if changes else after_seq
    return channel.last_seq, channel.trimmed_seq, texts, cursor, more


def replay_text(message: Message, since_seq: int) -> str:
    """A replayed change, in the shape of its live event.

    The database keeps each message's latest change only, so a message created after
    ``since_seq`` replays as ``message.created`` (with its edits applied), an older one as
    ``message.updated`` or ``message.deleted``. Each carries the seq of its latest change.
    """
    if message.deleted_at is not None:
        kind = "message.deleted"
    elif message.seq > since_seq:
        kind = "message.created"
    else:
        kind = "message.updated"
    return events.encode(events.message_event(message, kind))


@database_sync_to_async
def create_message(
    user: Any,
    channel_id: Any,
    content: str,
    client_id: Any,
    parent_id: Any = None,
    attachment_ids: Any = (),
) -> dict[str, Any]:
    """``message.send``: the same service as POST; the stored message in its REST shape."""
    with rls.acting_as_user(user):
        message, _created = services.message_create(
            user=user,
            channel_id=channel_id,
            content=content,
            client_id=client_id,
            parent_id=parent_id,
            attachment_ids=attachment_ids,
        )
        return events.message_data(message)


@database_sync_to_async
def run_command(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``command.run``: the same service as POST .../commands/; its ``command.done``."""
    with rls.acting_as_user(user):
        result = services.command_run(
            user=user,
            channel_id=data["channel_id"],
            text=data["text"],
            client_id=data.get("client_id"),
            parent_id=data.get("parent_id"),
        )
        message = events.message_data(result.message) if result.message is not None else None
        return events.command_done_event(
            command=result.command,
            channel_id=data["channel_id"],
            message=message,
            client_id=data.get("client_id"),
        )


@database_sync_to_async
def react(
    user: Any, message_id: Any, emoji: str, *, add: bool, scope: frozenset[str] | None = None
) -> None:
    """``reaction.add`` / ``reaction.remove``: the same services as the REST routes. A bot
    token limited to ``scope`` reacts only to messages of those channels."""
    with rls.acting_as_user(user):
        if scope is not None:
            message = selectors.message_get_any(user=user, message_id=message_id)
            if str(message.channel_id) not in scope:
                detail = "Message not found."
                raise NotFound(detail, fields={"message_id": [detail]})
        if add:
            services.reaction_add(user=user, message_id=message_id, emoji=emoji)
        else:
            services.reaction_remove(user=user, message_id=message_id, emoji=emoji)
