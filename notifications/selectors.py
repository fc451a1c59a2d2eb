"""Reads of notifications: a user's mentions, newest first (docs/api.md, "Mentions")."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery

from accounts.models import User
from chat.exceptions import RateLimited, ValidationError
from chat.models import Membership
from chat.selectors.base import next_cursor
from chat.selectors.dms import attach_dm_members
from chatsite import ratelimit
from notifications.models import Mention


def mention_page(
    *, user: User, limit: int, cursor: str | None = None
) -> tuple[list[Mention], str | None]:
    """A page of the user's mentions, newest first, each with its message, channel and
    ``unread`` (its message past the user's read marker). Only mentions in channels the user
    still belongs to, of live messages; the cursor is the last id of the page before.
    Each page spends one of the user's ``CHAT_MENTION_LIST_RATE``, whichever door asks."""
    wait = ratelimit.hit(ratelimit.MENTION_LIST, str(user.pk))
    if wait is not None:
        raise RateLimited(f"Too many mention list reads; try again in {wait} s.", retry_after=wait)
    membership = Membership.objects.filter(channel=OuterRef("channel"), user=user)
    mentions = (
        Mention.objects.filter(user=user, message__deleted_at__isnull=True)
        .filter(Exists(membership))
        .annotate(read_up_to=Subquery(membership.values("last_read_seq")[:1]))
        .annotate(
            unread=ExpressionWrapper(
                Q(message__seq__gt=F("read_up_to")), output_field=BooleanField()
            )
        )
        .select_related("message__user", "channel")
        .order_by("-id")
    )
    if cursor:
        if not (cursor.isascii() and cursor.isdigit()):
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
        mentions = mentions.filter(pk__lt=int(cursor))
    page, after = next_cursor(list(mentions[: limit + 1]), limit, lambda mention: mention.pk)
    attach_dm_members(_distinct_channels(page))
    return page, after


def _distinct_channels(mentions: list[Mention]) -> list[Any]:
    channels: dict[Any, Any] = {}
    for mention in mentions:
        channels.setdefault(mention.channel_id, mention.channel)
        mention.channel = channels[mention.channel_id]
    return list(channels.values())


def unread_mention_count(*, user: User) -> int:
    """All of the user's unread mentions (the page title's count adds them up client-side from
    the channel list; this is the same number in one query)."""
    membership = Membership.objects.filter(channel=OuterRef("channel"), user=user)
    return (
        Mention.objects.filter(user=user, message__deleted_at__isnull=True)
        .annotate(read_up_to=Subquery(membership.values("last_read_seq")[:1]))
        .filter(read_up_to__isnull=False, message__seq__gt=F("read_up_to"))
        .count()
    )
