"""Reads of the exports: a channel's messages a page at a time in seq order (keyset paging,
so memory stays flat whatever the channel's size), its members, every account.

The operator's export (``manage.py export``) reads as the service role: it is an operator
command, like the migrations, and sees every channel (docs/integrations.md, "Exporting").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from chat.models import Channel, Message
from files.models import Upload

DEFAULT_PAGE_SIZE = 500


def channels_to_export(
    *, names_or_ids: list[str] | None = None, include_dms: bool = False
) -> tuple[list[Channel], list[str]]:
    """The channels named (by name or id), or every channel (and with ``include_dms`` every
    direct message), in name order; and the names or ids that matched nothing."""
    channels = Channel.objects.select_related("created_by").order_by("name")
    if not names_or_ids:
        if not include_dms:
            channels = channels.filter(kind=Channel.Kind.CHANNEL)
        return list(channels), []
    found: dict[str, Channel] = {}
    missing = []
    for wanted in names_or_ids:
        match = channels.filter(name=wanted).first()
        if match is None:
            try:
                match = channels.filter(pk=uuid.UUID(wanted)).first()
            except ValueError:
                match = None
        if match is None or (match.is_dm and not include_dms):
            missing.append(wanted)
        else:
            found[str(match.pk)] = match
    return sorted(found.values(), key=lambda channel: channel.name), missing


def message_pages(
    *,
    channel: Channel,
    after_seq: int = 0,
    since: datetime | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    user: User | None = None,
) -> Iterator[list[Message]]:
    """The channel's messages after ``after_seq`` in seq order, ``page_size`` at a time (one
    query per page, ``seq > last`` each time); only those created at or after ``since``, and
    only ``user``'s own when given."""
    rows: QuerySet[Message] = Message.objects.filter(channel=channel).select_related("user")
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if user is not None:
        rows = rows.filter(user=user)
    cursor = after_seq
    while True:
        page = list(rows.filter(seq__gt=cursor).order_by("seq")[:page_size])
        if not page:
            return
        yield page
        cursor = page[-1].seq
        if len(page) < page_size:
            return


def uploads_of(messages: list[Message]) -> dict[Any, list[Upload]]:
    """{message id: its uploads} for one page of messages."""
    found: dict[Any, list[Upload]] = {}
    uploads = Upload.objects.filter(message_id__in=[m.pk for m in messages]).order_by(
        "attached_at", "id"
    )
    for upload in uploads:
        found.setdefault(upload.message_id, []).append(upload)
    return found


def users_to_export() -> QuerySet[User]:
    return User.objects.order_by("pk")


def channel_member_names(channel: Channel) -> list[str]:
    return list(
        channel.memberships.order_by("user__username").values_list("user__username", flat=True)
    )
