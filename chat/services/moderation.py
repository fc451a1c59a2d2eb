"""Moderators' actions: tombstone, restore, archive (the admin calls these).

Each one checks that the actor moderates, changes the data like the authors' own writes
(taking the channel's next seq where a message changes, so clients hear of it live and
since_seq carries it), and leaves an entry in the audit trail (chat/audit.py) in the same
transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat import audit, events, selectors
from chat.exceptions import NotFound, ValidationError
from chat.models import Channel, Message, MessageRevision
from chat.services import base
from chat.services.messages import message_for_change, message_tombstone, moderate_message
from chat.validators import parse_uuid


@transaction.atomic
def message_tombstone_by_moderator(*, moderator: User, message_id: Any) -> Message:
    """Tombstone any live message; its content is kept so that a moderator can restore it."""
    base.check_moderator(moderator)
    message = message_for_change(user=moderator, message_id=message_id)
    return message_tombstone(message=message, moderator=moderator)


@transaction.atomic
def message_restore(*, moderator: User, message_id: Any) -> Message:
    """Bring back a message that a moderator tombstoned, as a new change (message.updated).

    Only a moderator's tombstone can be undone: when authors delete their own message, its
    content is gone for good.
    """
    base.check_moderator(moderator)
    message_uuid = parse_uuid(message_id)
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("user", "channel")
        .filter(pk=message_uuid)
        .first()
        if message_uuid is not None
        else None
    )
    if message is None:
        raise NotFound("Message not found.")
    if not message.is_deleted:
        raise ValidationError("This message is not deleted.", code="not_deleted")
    kept = (
        MessageRevision.objects.filter(message=message, kind=MessageRevision.Kind.TOMBSTONE)
        .order_by("-change_seq")
        .first()
    )
    if kept is None or kept.change_seq != message.change_seq:
        raise ValidationError(
            "Only a moderator's tombstone can be restored; the author deleted this message.",
            code="not_restorable",
        )
    moderate_message(
        message=message,
        moderator=moderator,
        content=kept.content,
        deleted_at=None,
        kind=MessageRevision.Kind.RESTORE,
        verb="Restored",
    )
    events.notify_message(message, "message.updated")
    return message


def _channel_locked(*, moderator: User, channel_id: Any) -> Channel:
    channel = selectors.channel_get(user=moderator, channel_id=channel_id)
    return Channel.objects.select_for_update().get(pk=channel.pk)


def _channel_set_archived(*, moderator: User, channel_id: Any, archived: bool) -> Channel:
    base.check_moderator(moderator)
    channel = _channel_locked(moderator=moderator, channel_id=channel_id)
    base.check_not_dm(channel, "be archived")
    if channel.is_archived == archived:
        state = "already archived" if archived else "not archived"
        code = "already_archived" if archived else "not_archived"
        raise ValidationError(f"#{channel.name} is {state}.", code=code)
    channel.archived_at = timezone.now() if archived else None
    channel.save(update_fields=["archived_at"])
    change = (
        f"Archived {channel}: it is read-only now."
        if archived
        else f"Unarchived {channel}: members can post again."
    )
    audit.record(actor=moderator, target=channel, description=str(channel), change_message=change)
    return channel


@transaction.atomic
def channel_archive(*, moderator: User, channel_id: Any) -> Channel:
    """Make a channel read-only: posts, edits and joins answer 403 ``archived``."""
    return _channel_set_archived(moderator=moderator, channel_id=channel_id, archived=True)


@transaction.atomic
def channel_unarchive(*, moderator: User, channel_id: Any) -> Channel:
    """Open an archived channel for posting again."""
    return _channel_set_archived(moderator=moderator, channel_id=channel_id, archived=False)
