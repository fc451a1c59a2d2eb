"""Posting, editing and deleting messages, replies in threads, and the tombstones moderators
leave. Every write renders ``content`` to ``rendered`` (chat/rendering.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import roles
from accounts.models import User
from chat import audit, commands, events, rendering, selectors
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Channel, Membership, Message, MessageRevision
from chat.services import base
from chatsite import ratelimit, rls
from files import services as files_services
from integrations.dispatch import outgoing_schedule
from notifications.services import mentions_record

# @channel and @here reach everyone: members may use them in channels of at most this many
# members, moderators everywhere (docs/api.md, "Mentions").
BROADCAST_MAX_MEMBERS = 50


def may_mention_everyone(*, user: User, channel_id: Any) -> bool:
    """Whether ``user`` may use @channel and @here in the channel."""
    if roles.is_moderator(user):
        return True
    return Membership.objects.filter(channel_id=channel_id).count() <= BROADCAST_MAX_MEMBERS


def _active_users_named(names: set[str]) -> dict[str, Any]:
    users = User.objects.annotate(name=Lower("username")).filter(is_active=True, name__in=names)
    return {name: pk for name, pk in users.values_list("name", "pk")}


def render_content(*, user: User, channel_id: Any, content: str) -> str:
    """``content`` as the HTML clients show, with mentions as ``user`` may make them."""
    if not content:
        return ""
    broadcast = "@" in content and may_mention_everyone(user=user, channel_id=channel_id)
    return rendering.render_with_lookup(content, lookup=_active_users_named, broadcast=broadcast)


def messages_render_missing() -> int:
    """Render the live messages that have content but no ``rendered`` (rows written by SQL:
    the demo data, bulk imports). Runs as the service; returns how many it rendered."""
    count = 0
    with rls.acting_as_service():
        missing = Message.objects.filter(deleted_at__isnull=True, rendered="").exclude(content="")
        for message in missing.select_related("user").iterator(chunk_size=500):
            message.rendered = render_content(
                user=message.user, channel_id=message.channel_id, content=message.content
            )
            Message.objects.filter(pk=message.pk).update(rendered=message.rendered)
            count += 1
    return count


def message_preview(*, user: User, content: object, channel_id: Any = None) -> str:
    """What ``content`` would look like posted (to ``channel_id``, for its mention rights)."""
    base.check_rate(ratelimit.PREVIEW, user, "previews")
    text = base.check_content(content)
    if channel_id is not None:
        channel_id = selectors.channel_get(user=user, channel_id=channel_id).pk
    return render_content(user=user, channel_id=channel_id, content=text)


def _thread_parent(*, user: User, channel: Channel, parent_id: Any) -> Message:
    """The top-level, live message of ``channel`` that a reply answers (locked for counting).

    A parent the user cannot see is a 404; a reply, a message of another channel or a deleted
    message is a 400 naming ``parent_id``.
    """
    parent = selectors.message_get_any(user=user, message_id=parent_id, field="parent_id")
    problem = None
    if parent.channel_id != channel.pk:
        problem = "The parent is in another channel."
    elif parent.parent_id is not None:
        problem = "Replies go to the thread's first message, not to another reply."
    elif parent.deleted_at is not None:
        problem = "The parent message was deleted."
    if problem:
        raise ValidationError(problem, code="bad_parent", fields={"parent_id": [problem]})
    return parent


def thread_refresh(parent_id: Any) -> Message:
    """Recount a thread's live replies and its latest reply time onto its parent.

    The counts are derived from the replies themselves, so they are written as the service
    (members may not write other people's messages); call inside the transaction that
    changed a reply, after the channel's seq lock was taken.
    """
    with rls.acting_as_service():
        replies = Message.objects.filter(parent_id=parent_id, deleted_at__isnull=True)
        count = replies.count()
        last = replies.aggregate(last=Max("created_at"))["last"]
        Message.objects.filter(pk=parent_id).update(reply_count=count, last_reply_at=last)
        return Message.objects.select_related("user").get(pk=parent_id)


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
    *,
    user: User,
    channel_id: Any,
    content: object,
    client_id: uuid.UUID | None = None,
    parent_id: Any = None,
    action: bool = False,
    literal: bool = False,
    attachment_ids: Sequence[uuid.UUID] = (),
    sender_name: str = "",
    sender_icon: str = "",
) -> tuple[Message, bool]:
    """Post a message, or with ``parent_id`` a reply in that message's thread, carrying the
    sender's uploads ``attachment_ids`` (then ``content`` may be empty). Returns the message
    and whether it was created just now.

    Content as people type it: a slash command is refused and ``//`` sends one slash
    (``chat.commands.message_text``); ``literal`` stores it as given (the commands' own
    messages). ``action`` marks a ``/me`` message.

    ``sender_name`` and ``sender_icon`` are what an incoming webhook's caller asked to be
    shown as (integrations.services.hook_post checks them; only bots may carry them).

    A ``client_id`` the user has sent before returns the original message and creates
    nothing, also when two identical requests race. The unique (user, client_id) constraint
    finds the repeat, so a first send costs no look-up of its own.
    """
    base.check_rate(ratelimit.MESSAGE, user, "messages")
    if attachment_ids and content == "":
        text = ""  # files alone
    else:
        text = base.check_content(content)
        if not literal:
            text = base.check_content(commands.message_text(text))
    try:
        channel, is_member = selectors.channel_get_with_membership(user=user, channel_id=channel_id)
        base.check_writable(channel)
        parent = (
            _thread_parent(user=user, channel=channel, parent_id=parent_id)
            if parent_id is not None
            else None
        )
        uploads = files_services.uploads_claim(user=user, upload_ids=list(attachment_ids))
        _ensure_poster_is_member(user=user, channel=channel, is_member=is_member)
    except (NotFound, PermissionDenied, ValidationError):
        # A repeat still gets its original, though the channel has closed to the sender since.
        if client_id is not None and (found := _sent_before(user=user, client_id=client_id)):
            return found, False
        raise
    # Rendered before the seq is taken: the channel's lock is held only for the insert.
    rendered = render_content(user=user, channel_id=channel.pk, content=text)
    try:
        # Only a repeated client_id is recovered from here: its savepoint gives the seq back.
        # Any other failure leaves the service, whose own savepoint undoes it.
        with transaction.atomic(savepoint=client_id is not None):
            seq = base.next_seq(channel.pk)
            message = Message.objects.create(
                channel=channel,
                user=user,
                content=text,
                rendered=rendered,
                seq=seq,
                change_seq=seq,
                client_id=client_id,
                parent=parent,
                action=action,
                attachments=files_services.attachments_data(uploads),
                sender_name=sender_name,
                sender_icon=sender_icon,
            )
    except IntegrityError:
        # A repeat, or lost a race with an identical request: the savepoint gave the seq back.
        found = _sent_before(user=user, client_id=client_id) if client_id is not None else None
        if found is None:
            raise
        return found, False
    files_services.uploads_attach(uploads=uploads, message=message)
    if parent is not None:
        message.parent = thread_refresh(parent.pk)
    mentions_record(message=message, created=True)
    outgoing_schedule(message=message, author=user)
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
    message.rendered = render_content(user=user, channel_id=message.channel_id, content=text)
    message.edited_at = timezone.now()
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "rendered", "edited_at", "change_seq"])
    MessageRevision.objects.create(
        message=message,
        kind=MessageRevision.Kind.EDIT,
        content=previous,
        actor=user,
        change_seq=message.change_seq,
    )
    mentions_record(message=message)
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
    message.rendered = ""
    message.deleted_at = timezone.now()
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "rendered", "deleted_at", "change_seq"])
    _refresh_parent_of(message)
    mentions_record(message=message)
    events.notify_message(message, "message.deleted")
    return message


def _refresh_parent_of(message: Message) -> None:
    """A reply deleted or restored: its parent's reply count changes with it."""
    if message.parent_id is not None:
        message.parent = thread_refresh(message.parent_id)


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
    _refresh_parent_of(message)
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
    message.rendered = render_content(
        user=message.user, channel_id=message.channel_id, content=content
    )
    message.deleted_at = deleted_at
    message.change_seq = base.next_seq(message.channel_id)
    message.save(update_fields=["content", "rendered", "deleted_at", "change_seq"])
    # A tombstone takes the mentions away; a restore brings them back without a new alert.
    mentions_record(message=message, notify=False)
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
