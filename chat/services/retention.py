"""Retention: deleting a channel's messages once they are older than its retention period
(docs/integrations.md, "Retention").

A channel's ``retention_days`` overrides ``CHAT_RETENTION_DAYS``: NULL follows the setting,
0 keeps everything, N deletes messages older than N days. The worker runs
``retention_apply`` every ``CHAT_RETENTION_INTERVAL`` seconds, as the service role.

What goes is exact by seq: the cutoff is the highest seq of a message created before the
cutoff time, and every message with a seq up to it is deleted, except a thread's root that
still has a newer reply (it stays with its thread until the thread is old too). Each batch
deletes the messages with everything that hangs off them (reactions, edit history,
mentions, reports, the search index's rows, attachments and, after the commit, their stored
files), recounts the threads that lost replies, and moves the channel's ``trimmed_seq`` up.
No event is sent per message: one ``channel.updated`` per channel and run carries the new
``trimmed_seq``, and a client resuming from an older seq is told so in ``subscribed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from accounts.models import User
from chat import audit, events
from chat.models import Channel, Message, Reaction
from chat.services.messages import thread_refresh
from chatsite import rls

logger = logging.getLogger(__name__)

# The account retention runs are recorded under in the audit log (an inactive bot that
# cannot sign in; made the first time retention deletes something).
RETENTION_ACCOUNT = "chatsite-retention"


@dataclass
class RetentionResult:
    """What one run did to one channel."""

    channel_id: str
    days: int
    messages: int = 0
    reactions: int = 0
    files: int = 0
    trimmed_seq: int = 0


def retention_days_of(channel: Channel) -> int:
    """The channel's retention in days (0: keep forever): its own, else the site's."""
    if channel.retention_days is not None:
        return int(channel.retention_days)
    return max(int(settings.CHAT_RETENTION_DAYS), 0)


def retention_account() -> User:
    user, _ = User.objects.get_or_create(
        username=RETENTION_ACCOUNT,
        defaults={"display_name": "Retention", "is_active": False, "is_bot": True},
    )
    return user


def _cutoff_seq(channel: Channel, cutoff: datetime) -> int:
    found = Message.objects.filter(channel=channel, created_at__lt=cutoff).aggregate(
        seq=Max("seq")
    )["seq"]
    return int(found or 0)


def _delete_batch(*, channel_id: Any, cutoff_seq: int, batch_size: int) -> tuple[int, int, int]:
    """Delete up to ``batch_size`` of the channel's messages with a seq up to ``cutoff_seq``
    in one transaction; (messages, reactions, files) deleted. Holds the channel's row lock,
    so no reply is posted to a thread while its root goes."""
    from files.models import Upload
    from files.storage import delete_quietly

    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        newer_reply = Message.objects.filter(parent=OuterRef("pk"), seq__gt=cutoff_seq)
        batch = list(
            Message.objects.filter(channel=channel, seq__lte=cutoff_seq, seq__gt=0)
            .exclude(Exists(newer_reply))
            .order_by("seq")
            .values_list("pk", "seq", "parent_id")[:batch_size]
        )
        if not batch:
            return 0, 0, 0
        ids = [pk for pk, _, _ in batch]
        doomed = set(ids)
        parents = {parent for _, _, parent in batch if parent is not None and parent not in doomed}
        # Replies of a root in this batch go with it (on delete cascade); count them too.
        replies = list(
            Message.objects.filter(parent_id__in=ids)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        all_ids = ids + replies
        reactions = Reaction.objects.filter(message_id__in=all_ids).count()
        uploads = list(
            Upload.objects.filter(message_id__in=all_ids).values_list(
                "storage_key", "thumbnail_key"
            )
        )
        Message.objects.filter(pk__in=all_ids).delete()
        for parent_id in parents:
            if Message.objects.filter(pk=parent_id).exists():
                thread_refresh(parent_id)
        top = max(seq for _, seq, _ in batch)
        Channel.objects.filter(pk=channel.pk, trimmed_seq__lt=top).update(trimmed_seq=top)
        keys = [key for pair in uploads for key in pair if key]
        transaction.on_commit(lambda: delete_quietly(keys))
        return len(all_ids), reactions, len(uploads)


def retention_apply_channel(
    *, channel_id: Any, now: datetime | None = None, batch_size: int | None = None
) -> RetentionResult:
    """Apply the channel's retention once: delete in batches, then record the run in the
    audit log and tell the channel's followers (one ``channel.updated``) if anything went."""
    now = now or timezone.now()
    size = max(1, batch_size or settings.CHAT_RETENTION_BATCH)
    with rls.acting_as_service():
        channel = Channel.objects.get(pk=channel_id)
        result = RetentionResult(channel_id=str(channel.pk), days=retention_days_of(channel))
        if result.days == 0:
            return result
        cutoff = now - timedelta(days=result.days)
        cutoff_seq = _cutoff_seq(channel, cutoff)
        while cutoff_seq > 0:
            messages, reactions, files = _delete_batch(
                channel_id=channel.pk, cutoff_seq=cutoff_seq, batch_size=size
            )
            if not messages:
                break
            result.messages += messages
            result.reactions += reactions
            result.files += files
        if not result.messages:
            return result
        with transaction.atomic():
            channel = Channel.objects.get(pk=channel.pk)
            result.trimmed_seq = channel.trimmed_seq
            audit.record(
                actor=retention_account(),
                target=channel,
                description=str(channel),
                change_message=(
                    f"Retention ({result.days} days): deleted {result.messages} messages, "
                    f"{result.reactions} reactions and {result.files} files created before "
                    f"{cutoff:%Y-%m-%d %H:%M} UTC; history now starts after seq "
                    f"{result.trimmed_seq}."
                ),
            )
            events.notify_channel_updated(channel)
    logger.info(
        "retention.applied",
        extra={"channel_id": result.channel_id, "messages": result.messages},
    )
    return result


def retention_apply(
    *, now: datetime | None = None, batch_size: int | None = None
) -> list[RetentionResult]:
    """Apply retention to every channel and direct message that has a period; the channels
    where something was deleted."""
    with rls.acting_as_service():
        channels = Channel.objects.all()
        if int(settings.CHAT_RETENTION_DAYS) <= 0:
            channels = channels.filter(retention_days__gt=0)
        else:
            channels = channels.exclude(retention_days=0)
        channel_ids = list(channels.order_by("pk").values_list("pk", flat=True))
    results = []
    for channel_id in channel_ids:
        result = retention_apply_channel(channel_id=channel_id, now=now, batch_size=batch_size)
        if result.messages:
            results.append(result)
    return results
