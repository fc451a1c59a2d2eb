"""Every write in chat: check, do, notify.

Each function validates its input, checks the actor's rights, writes inside one transaction,
takes the channel's next seq for each change (``_next_seq``), and queues the event with
``chat.events`` to leave on commit. The REST views, the WebSocket consumer and the admin all
call these functions, so there is one validation, one permission check and one broadcast.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat import events, selectors
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Channel, Membership, Message
from chat.validators import CHANNEL_NAME_RE, content_problem

NEXT_SEQ_SQL = "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"


def _next_seq(channel_id: uuid.UUID) -> int:
    """Take the channel's next seq. Locks the channel row until the transaction ends.

    The lock orders the commits of a channel's changes, so seq values are distinct, without
    gaps, and committed in order.
    """
    pk_field = Channel._meta.pk
    assert pk_field is not None
    with connection.cursor() as cursor:
        cursor.execute(NEXT_SEQ_SQL, [pk_field.get_db_prep_value(channel_id, connection)])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Channel not found.")
    return int(row[0])


def _check_content(content: object) -> str:
    problem = content_problem(content)
    if problem:
        raise ValidationError(problem, fields={"content": [problem]})
    assert isinstance(content, str)
    return content


def _check_writable(channel: Channel) -> None:
    if channel.is_archived:
        raise PermissionDenied("This channel is archived and read-only.", code="archived")


def _ensure_poster_is_member(*, user: Any, channel: Channel) -> None:
    """Posting to a public channel joins it; a private one needs membership already."""
    if channel.is_private:
        if not Membership.objects.filter(channel=channel, user=user).exists():
            raise PermissionDenied("Only members can post in this private channel.")
        return
    _, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)


@transaction.atomic
def message_create(
    *, user: Any, channel_id: Any, content: object, client_id: uuid.UUID | None = None
) -> tuple[Message, bool]:
    """Post a message. Returns the message and whether it was created just now.

    A ``client_id`` the user has sent before returns the original message and creates
    nothing, also when two identical requests race.
    """
    text = _check_content(content)
    if client_id is not None:
        existing = Message.objects.select_related("user").filter(user=user, client_id=client_id)
        if found := existing.first():
            return found, False
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    _check_writable(channel)
    _ensure_poster_is_member(user=user, channel=channel)
    try:
        with transaction.atomic():
            seq = _next_seq(channel.pk)
            message = Message.objects.create(
                channel=channel,
                user=user,
                content=text,
                seq=seq,
                change_seq=seq,
                client_id=client_id,
            )
    except IntegrityError:
        # Lost a race with an identical request: the savepoint gave the seq back.
        if client_id is None:
            raise
        return Message.objects.select_related("user").get(user=user, client_id=client_id), False
    events.notify_message(message, "message.created")
    return message, True


def _message_for_change(*, user: Any, message_id: Any) -> Message:
    """The live message, locked, in a channel the user can see."""
    visible = selectors.message_get(user=user, message_id=message_id)
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("user", "channel")
        .get(pk=visible.pk)
    )
    if message.is_deleted:
        raise NotFound("Message not found.")
    return message


@transaction.atomic
def message_edit(*, user: Any, message_id: Any, content: object) -> Message:
    """Replace the content of one's own message."""
    text = _check_content(content)
    message = _message_for_change(user=user, message_id=message_id)
    if message.user_id != user.pk:
        raise PermissionDenied("You can only edit your own messages.")
    _check_writable(message.channel)
    message.content = text
    message.edited_at = timezone.now()
    message.change_seq = _next_seq(message.channel_id)
    message.save(update_fields=["content", "edited_at", "change_seq"])
    events.notify_message(message, "message.updated")
    return message


@transaction.atomic
def message_delete(*, user: Any, message_id: Any) -> Message:
    """Tombstone a message: one's own, or anyone's for a moderator."""
    message = _message_for_change(user=user, message_id=message_id)
    if message.user_id != user.pk and not user.is_moderator:
        raise PermissionDenied("You can only delete your own messages.")
    message.content = ""
    message.deleted_at = timezone.now()
    message.change_seq = _next_seq(message.channel_id)
    message.save(update_fields=["content", "deleted_at", "change_seq"])
    events.notify_message(message, "message.deleted")
    return message


@transaction.atomic
def channel_create(
    *, user: Any, name: str, title: str = "", topic: str = "", is_private: bool = False
) -> Channel:
    """Create a channel; its creator becomes its owner."""
    if not isinstance(name, str) or not CHANNEL_NAME_RE.match(name):
        raise ValidationError(
            "Invalid channel name.",
            fields={"name": ["Use 1-80 lowercase letters, digits, '-' or '_'."]},
        )
    if Channel.objects.filter(name=name).exists():
        raise ValidationError(
            "A channel with this name exists.", fields={"name": ["This name is taken."]}
        )
    try:
        with transaction.atomic():
            channel = Channel.objects.create(
                name=name, title=title or name, topic=topic, is_private=is_private, created_by=user
            )
    except IntegrityError:
        raise ValidationError(
            "A channel with this name exists.", fields={"name": ["This name is taken."]}
        ) from None
    Membership.objects.create(channel=channel, user=user, role=Membership.Role.OWNER)
    events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)
    return channel


@transaction.atomic
def channel_join(*, user: Any, channel_id: Any) -> Membership:
    """Join a public channel (joining one's own channel again changes nothing)."""
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is not None:
        return membership
    if channel.is_private:
        raise PermissionDenied("Private channels are joined by invitation.")
    _check_writable(channel)
    membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)
    return membership


@transaction.atomic
def channel_leave(*, user: Any, channel_id: Any) -> None:
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    deleted, _ = Membership.objects.filter(channel=channel, user=user).delete()
    if deleted:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=False)


@transaction.atomic
def channel_member_add(*, actor: Any, channel_id: Any, user: Any) -> tuple[Membership, bool]:
    """Add a user to a channel: its owners and moderators may."""
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or actor.is_moderator):
        raise PermissionDenied("Only the channel's owners and moderators can add members.")
    if not user.is_active:
        raise ValidationError("This user is deactivated.", fields={"user_id": ["Inactive."]})
    membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)
    return membership, created


@transaction.atomic
def channel_mark_read(*, user: Any, channel_id: Any, seq: int) -> Membership:
    """Move the user's read marker forward to ``seq`` (never back, never past last_seq)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationError("seq must be a non-negative integer.", fields={"seq": ["Invalid."]})
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise ValidationError(
            "Join the channel to keep a read marker.", fields={"channel_id": ["Not a member."]}
        )
    target = min(seq, channel.last_seq)
    if target > membership.last_read_seq:
        membership.last_read_seq = target
        membership.save(update_fields=["last_read_seq"])
    return membership
