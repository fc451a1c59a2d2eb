"""Every write in chat: check, do, notify.

Each function validates its input, checks the actor's rights, writes inside one transaction,
takes the channel's next seq for each change (``_next_seq``), and queues the event with
``chat.events`` to leave on commit. The REST views, the WebSocket consumer and the admin all
call these functions, so there is one validation, one permission check and one broadcast.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import roles
from accounts.models import User
from chat import audit, events, selectors
from chat.exceptions import NotFound, PermissionDenied, RateLimited, ValidationError
from chat.models import Channel, Membership, Message, MessageRevision
from chat.validators import (
    CHANNEL_NAME_RE,
    CHANNEL_NAME_RULE,
    clean_content,
    content_problem,
    parse_uuid,
)
from chatsite import ratelimit

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
    return clean_content(content)


def _check_rate(limit: ratelimit.Limit, user: User, what: str) -> None:
    """Spend one action of the user's budget; over it, RateLimited (429 or an error event).

    The budget is the user's whichever door the action came by (REST, WebSocket, a page),
    and is counted in the shared cache, so every process spends the same one.
    """
    wait = ratelimit.hit(limit, str(user.pk))
    if wait is not None:
        raise RateLimited(f"Too many {what}; try again in {wait} s.", retry_after=wait)


def _check_writable(channel: Channel) -> None:
    if channel.is_archived:
        raise PermissionDenied("This channel is archived and read-only.", code="archived")


def _ensure_poster_is_member(*, user: User, channel: Channel, is_member: bool) -> None:
    """Posting to a public channel joins it; a private one needs membership already."""
    if is_member:
        return
    if channel.is_private:
        raise PermissionDenied("Only members can post in this private channel.")
    _, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)


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
    _check_rate(ratelimit.MESSAGE, user, "messages")
    text = _check_content(content)
    try:
        channel, is_member = selectors.channel_get_with_membership(user=user, channel_id=channel_id)
        _check_writable(channel)
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
        # A repeat, or lost a race with an identical request: the savepoint gave the seq back.
        found = _sent_before(user=user, client_id=client_id) if client_id is not None else None
        if found is None:
            raise
        return found, False
    events.notify_message(message, "message.created")
    return message, True


def _message_for_change(*, user: User, message_id: Any, verb: str = "change") -> Message:
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
    _check_rate(ratelimit.EDIT, user, "edits")
    text = _check_content(content)
    message = _message_for_change(user=user, message_id=message_id, verb="edit")
    if message.user_id != user.pk:
        raise PermissionDenied("You can only edit your own messages.")
    _check_writable(message.channel)
    previous = message.content
    message.content = text
    message.edited_at = timezone.now()
    message.change_seq = _next_seq(message.channel_id)
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
    message = _message_for_change(user=user, message_id=message_id, verb="delete")
    if message.user_id != user.pk:
        if not roles.is_moderator(user):
            raise PermissionDenied("You can only delete your own messages.")
        return _message_tombstone(message=message, moderator=user)
    # The author's own deletion is final: the edit history goes with the content.
    MessageRevision.objects.filter(message=message).delete()
    message.content = ""
    message.deleted_at = timezone.now()
    message.change_seq = _next_seq(message.channel_id)
    message.save(update_fields=["content", "deleted_at", "change_seq"])
    events.notify_message(message, "message.deleted")
    return message


# --- Moderation ------------------------------------------------------------------------
# The admin's actions (chat/admin.py) call these. Each one checks that the actor moderates,
# changes the data like the functions above (taking the channel's next seq where a message
# changes, so clients hear of it live and since_seq carries it), and leaves an entry in the
# audit trail (chat/audit.py) in the same transaction.


def _check_moderator(user: User) -> None:
    if not roles.is_moderator(user):
        raise PermissionDenied("Only moderators can do this.")


def _message_tombstone(*, message: Message, moderator: User) -> Message:
    """Tombstone a locked, live message, keeping its content for a possible restore."""
    _moderate_message(
        message=message,
        moderator=moderator,
        content="",
        deleted_at=timezone.now(),
        kind=MessageRevision.Kind.TOMBSTONE,
        verb="Tombstoned",
    )
    events.notify_message(message, "message.deleted")
    return message


def _moderate_message(
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
    message.change_seq = _next_seq(message.channel_id)
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


@transaction.atomic
def message_tombstone_by_moderator(*, moderator: User, message_id: Any) -> Message:
    """Tombstone any live message; its content is kept so that a moderator can restore it."""
    _check_moderator(moderator)
    message = _message_for_change(user=moderator, message_id=message_id)
    return _message_tombstone(message=message, moderator=moderator)


@transaction.atomic
def message_restore(*, moderator: User, message_id: Any) -> Message:
    """Bring back a message that a moderator tombstoned, as a new change (message.updated).

    Only a moderator's tombstone can be undone: when authors delete their own message, its
    content is gone for good.
    """
    _check_moderator(moderator)
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
    _moderate_message(
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
    _check_moderator(moderator)
    channel = _channel_locked(moderator=moderator, channel_id=channel_id)
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


@transaction.atomic
def channel_create(
    *, user: User, name: str, title: str = "", topic: str = "", is_private: bool = False
) -> Channel:
    """Create a channel; its creator becomes its owner."""
    _check_rate(ratelimit.CHANNEL_CREATE, user, "new channels")
    if not isinstance(name, str) or not CHANNEL_NAME_RE.match(name):
        raise ValidationError("Invalid channel name.", fields={"name": [CHANNEL_NAME_RULE]})
    if Channel.objects.filter(name=name).exists():
        raise ValidationError(
            "A channel with this name exists.", fields={"name": ["This name is taken."]}
        )
    try:
        # No savepoint: the IntegrityError leaves the service (as a ValidationError), whose
        # own savepoint undoes the attempt.
        with transaction.atomic(savepoint=False):
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
def channel_join(*, user: User, channel_id: Any) -> Membership:
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
def channel_leave(*, user: User, channel_id: Any) -> None:
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    deleted, _ = Membership.objects.filter(channel=channel, user=user).delete()
    if deleted:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=False)


@transaction.atomic
def channel_member_add(*, actor: User, channel_id: Any, user: User) -> tuple[Membership, bool]:
    """Add a user to a channel: its owners and moderators may."""
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or roles.is_moderator(actor)):
        raise PermissionDenied("Only the channel's owners and moderators can add members.")
    _check_rate(ratelimit.MEMBER_ADD, actor, "member additions")
    if not user.is_active:
        raise ValidationError("This user is deactivated.", fields={"user_id": ["Inactive."]})
    membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=True)
    return membership, created


def _check_owner_or_moderator(*, actor: User, channel: Channel) -> None:
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or roles.is_moderator(actor)):
        raise PermissionDenied("Only the channel's owners and moderators can manage members.")


@transaction.atomic
def channel_member_remove(*, actor: User, channel_id: Any, user: User) -> bool:
    """Take a user out of a channel (owners and moderators). Returns whether they were in."""
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    _check_owner_or_moderator(actor=actor, channel=channel)
    deleted, _ = Membership.objects.filter(channel=channel, user=user).delete()
    if deleted:
        events.notify_membership(user_id=user.pk, channel_id=channel.pk, joined=False)
    return bool(deleted)


@transaction.atomic
def channel_member_set_role(*, actor: User, channel_id: Any, user: User, role: str) -> Membership:
    """Make a member an owner of the channel, or an owner a plain member."""
    if role not in Membership.Role.values:
        raise ValidationError("Unknown membership role.", fields={"role": ["Unknown role."]})
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    _check_owner_or_moderator(actor=actor, channel=channel)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise ValidationError(
            "Not a member of this channel.", fields={"user_id": ["Not a member."]}
        )
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def channel_mark_read(*, user: User, channel_id: Any, seq: int) -> Membership:
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
