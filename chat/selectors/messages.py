"""Messages as a user sees them: one message, history pages by seq, changes since a seq."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from chat.exceptions import NotFound, ValidationError
from chat.models import Channel, Message
from chat.selectors.base import DEFAULT_PAGE_SIZE, as_uuid
from chat.selectors.channels import channel_get, channels_visible_to


def message_get(*, user: User, message_id: Any) -> Message:
    """A live message in a channel the user can see."""
    message_uuid = as_uuid(message_id, field="id")
    visible = channels_visible_to(user).values("pk")
    try:
        return Message.objects.select_related("user").get(
            pk=message_uuid, channel__in=visible, deleted_at__isnull=True
        )
    except Message.DoesNotExist:
        raise NotFound("Message not found.") from None


def message_get_any(*, user: User, message_id: Any, field: str = "id") -> Message:
    """A message in a channel the user can see, tombstones included (to say why it cannot be
    answered or reacted to)."""
    message_uuid = as_uuid(message_id, field=field)
    visible = channels_visible_to(user).values("pk")
    try:
        return Message.objects.select_related("user", "channel").get(
            pk=message_uuid, channel__in=visible
        )
    except Message.DoesNotExist:
        raise NotFound("Message not found.", fields={field: ["Message not found."]}) from None


def thread_page(
    *, user: User, thread: Any, limit: int = DEFAULT_PAGE_SIZE, after: Any = None
) -> tuple[list[Message], bool]:
    """The live replies of a visible top-level message, oldest first; ``after`` (a reply's
    id) pages on."""
    parent = message_get_any(user=user, message_id=thread, field="thread")
    if parent.parent_id is not None:
        problem = "Not a thread: this message is a reply."
        raise ValidationError(problem, fields={"thread": [problem]})
    replies = Message.objects.filter(parent=parent, deleted_at__isnull=True).select_related(
        "user", "parent"
    )
    if after is not None:
        after_uuid = as_uuid(after, field="after")
        seq = replies.filter(pk=after_uuid).values_list("seq", flat=True).first()
        if seq is None:
            raise ValidationError(
                "after is not a reply of this thread.",
                fields={"after": ["Not a reply of this thread."]},
            )
        replies = replies.filter(seq__gt=seq)
    rows = list(replies.order_by("seq")[: limit + 1])
    return rows[:limit], len(rows) > limit


def _message_seq_in_channel(*, channel: Channel, message_id: Any, field: str) -> int:
    message_uuid = as_uuid(message_id, field=field)
    seq = Message.objects.filter(channel=channel, pk=message_uuid).values_list("seq", flat=True)
    found = seq.first()
    if found is None:
        raise ValidationError(
            f"{field} is not a message of this channel.",
            fields={field: ["Not a message of this channel."]},
        )
    return found


def message_page(
    *,
    user: User,
    channel_id: Any,
    limit: int = DEFAULT_PAGE_SIZE,
    before: Any = None,
    after: Any = None,
    since_seq: int | None = None,
    around: Any = None,
    tombstones: bool = False,
) -> tuple[list[Message], bool]:
    """One page of a channel's history, oldest first, and whether more lies beyond it.

    Pages hold top-level messages (replies are listed by ``thread_page``); ``since_seq``
    holds every change, replies included. No cursor: the newest ``limit`` live messages.
    ``before`` / ``after`` (message ids): the ``limit`` live messages just older / newer.
    ``since_seq``: every change after it in change order, tombstones included (for catching
    up). ``around`` (a message id): that message's place with up to ``limit`` live messages in
    all, about half older and half newer (fewer on one side fill up from the other);
    ``has_more`` then says whether older ones remain, as on the other pages, and ``after=``
    the last id pages on. A reply opens its channel at the reply's place. ``tombstones``:
    deleted messages keep their place in the page (the room shows them as "message deleted").
    """
    if sum(cursor is not None for cursor in (before, after, since_seq, around)) > 1:
        raise ValidationError(
            "Use at most one of before, after, since_seq and around.",
            fields={"before": ["Use at most one of before, after, since_seq and around."]},
        )
    channel = channel_get(user=user, channel_id=channel_id)
    messages = Message.objects.filter(channel=channel).select_related("user", "parent")
    if since_seq is not None:
        rows = list(messages.filter(change_seq__gt=since_seq).order_by("change_seq")[: limit + 1])
        return rows[:limit], len(rows) > limit
    live = messages if tombstones else messages.filter(deleted_at__isnull=True)
    live = live.filter(parent__isnull=True)
    if around is not None:
        seq = _message_seq_in_channel(channel=channel, message_id=around, field="around")
        return _page_around(live, seq=seq, limit=limit)
    if after is not None:
        seq = _message_seq_in_channel(channel=channel, message_id=after, field="after")
        rows = list(live.filter(seq__gt=seq).order_by("seq")[: limit + 1])
        return rows[:limit], len(rows) > limit
    if before is not None:
        seq = _message_seq_in_channel(channel=channel, message_id=before, field="before")
        live = live.filter(seq__lt=seq)
    rows = list(live.order_by("-seq")[: limit + 1])
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more


def _page_around(live: QuerySet[Message], *, seq: int, limit: int) -> tuple[list[Message], bool]:
    """The live messages around ``seq`` (it included): ``limit`` in all where there are."""
    newer = list(live.filter(seq__gte=seq).order_by("seq")[:limit])
    older = list(live.filter(seq__lt=seq).order_by("-seq")[: limit + 1])
    newer_count = min(len(newer), max(limit - min(len(older), limit // 2), 1))
    older_count = min(len(older), limit - newer_count)
    page = list(reversed(older[:older_count])) + newer[:newer_count]
    return page, len(older) > older_count


def changes_since(
    *, user: User, channel_id: Any, since_seq: int, limit: int
) -> tuple[Channel, list[Message], bool]:
    """A visible channel, its first ``limit`` changes after ``since_seq`` in order, and
    whether more follow (one page of a WebSocket replay)."""
    channel = channel_get(user=user, channel_id=channel_id)
    rows = list(
        Message.objects.filter(channel=channel, change_seq__gt=since_seq)
        .select_related("user", "parent")
        .order_by("change_seq")[: limit + 1]
    )
    return channel, rows[:limit], len(rows) > limit
