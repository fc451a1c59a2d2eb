"""Posting, editing and deleting messages, and the tombstones moderators leave."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import roles
from accounts.models import User
from chat import audit, events, selectors
from chat.exceptions import NotFound, PermissionDenied
from chat.models import Channel, Membership, Message, MessageRevision
from chat.services import base
from chatsite import ratelimit


def _ensure_poster_is_member(*, user: User, channel: Channel, is_member: bool) -> None:
    """Posting to a public channel joins it; a private one needs membership already."""
    if is_member:
        return
    if channel.is_private:
        raise PermissionDenied("Only members can post in this private channel.")
    _, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        base.notify_joined(user=user, channel=channel)


def _sent_before(*, user: User, client_id: uuid.UUID) -> Message | None:
    return Message.objects.select_related("user").filter(user=user, client_id=client_id).first()


@transaction.atomic
def message_create(
    *, user: User, channel_id: Any, content: object, client_id: uuid.UUID | None = None
) -> tuple[Message, bool]:
    """Post a message. Returns the message and whether it was created just now.

    A ``client_id`` the user has sent before returns the original message and creates
    nothing, also when two identical requests race. The unique (user, client_id) constraint
    finds the repeat, so a first send costs no look-up of its own.
    """
    base.check_rate(ratelimit.MESSAGE, user, "messages")
    text = base.check_content(content)
    try:
        channel, is_member = selectors.channel_get_with_membership(user=user, channel_id=channel_id)
        base.check_writable(channel)
        _ensure_poster_is_member(user=user, channel=channel, is_member=is_member)
    except (NotFound, PermissionDenied):
        # A repeat still gets its original, though the channel has closed to the sender since.
        if client_id is not None and (found := _sent_before(user=user, client_id=client_id)):
            return found, False
        raise
    try:
        # Only a repeated client_id is recovered from here: its savepoint gives the seq back.
        # Any other failure leaves the service, whose own savepoint undoes it.
        with transaction.atomic(savepoint=client_id is not None):
            seq = base.next_seq(channel.pk)
            message = Message.objects.create(
                channel=channel,
                user=user,
                content=text,
                seq=seq,
                change_seq=seq,
                client_id=client_id,
            )
    except IntegrityError:
        # A repeat, or lost a race with an identical request: the savepoint gave the seq back.
        found = _sent_before(user=user, client_id=client_id) if client_id is not None else None
        if found is None:
            raise
        return found, False
    events.notify_message(message, "message.created")
    return message, True


def message_for_change(*, user: User, message_id: Any, verb: str = "change") -> Message:
    """The live message, locked, in a channel the user can see, if the user may change it.

    Authors change their own messages, moderators anyone's. The rights are checked before the
    lock: row-level security lets only authors and moderators lock a message (SELECT ... FOR
    UPDATE), so for anyone else the row would simply not be found.
    """
    visible = selectors.message_get(user=user, message_id=message_id)
    if visible.user_id != user.pk and not roles.is_moderator(user):
        raise PermissionDenied(f"You can only {verb} your own messages.")
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("user", "channel")
        .get(pk=visible.pk)
    )
    if message.is_deleted:
        raise NotFound("Message not found.")
    return message


@transaction.atomic
def message_edit(*, user: User, message_id: Any, content: object) -> Message:
    """Replace the content of one's own message."""
    base.check_rate(ratelimit.EDIT, user, "edits")
    text = base.check_content(content)
    message = message_for_change(user=user, message_id=message_id, verb="edit")
    if message.user_id != user.pk:
        raise PermissionDenied("You can only edit your own messages.")
    base.check_writable(message.channel)
    previous = message.content
    message.content = text
    message.edited_at = timezone.now()
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "edited_at", "change_seq"])
    MessageRevision.objects.create(
        message=message,
        kind=MessageRevision.Kind.EDIT,
        content=previous,
        actor=user,
        change_seq=message.change_seq,
    )
    events.notify_message(message, "message.updated")
    return message


@transaction.atomic
def message_delete(*, user: User, message_id: Any) -> Message:
    """Tombstone a message: one's own, or anyone's for a moderator."""
    message = message_for_change(user=user, message_id=message_id, verb="delete")
    if message.user_id != user.pk:
        if not roles.is_moderator(user):
            raise PermissionDenied("You can only delete your own messages.")
        return message_tombstone(message=message, moderator=user)
    # The author's own deletion is final: the edit history goes with the content.
    MessageRevision.objects.filter(message=message).delete()
    message.content = ""
    message.deleted_at = timezone.now()
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "deleted_at", "change_seq"])
    events.notify_message(message, "message.deleted")
    return message


def message_tombstone(*, message: Message, moderator: User) -> Message:
    """Tombstone a locked, live message, keeping its content for a possible restore."""
    moderate_message(
        message=message,
        moderator=moderator,
        content="",
        deleted_at=timezone.now(),
        kind=MessageRevision.Kind.TOMBSTONE,
        verb="Tombstoned",
    )
    events.notify_message(message, "message.deleted")
    return message


def moderate_message(
    *,
    message: Message,
    moderator: User,
    content: str,
    deleted_at: datetime | None,
    kind: str,
    verb: str,
) -> None:
    """Set a locked message's content and deletion time as a new change, and keep the
    moderator's change in the message's history (with the content it replaced) and in the
    audit log."""
    kept_content = message.content
    message.content = content
    message.deleted_at = deleted_at
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "deleted_at", "change_seq"])
    MessageRevision.objects.create(
        message=message,
        kind=kind,
        content=kept_content,
        actor=moderator,
        change_seq=message.change_seq,
    )
    described = audit.describe_message(message)
    audit.record(
        actor=moderator,
        target=message,
        description=described,
        change_message=f"{verb} {described} (change seq {message.change_seq}).",
    )
