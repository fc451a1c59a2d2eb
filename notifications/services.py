"""Every write of notifications: recording who a message mentions (docs/api.md, "Mentions").

``mentions_record`` is the one call the message services make (chat/services/messages.py) on
create, edit, delete, tombstone and restore: it makes the message's ``Mention`` rows match
what the message says now and queues a ``mention`` event for each new one.
"""

from __future__ import annotations

import re
from typing import Any

from chat import events, presence
from chat.models import Channel, Membership, Message
from chatsite import rls
from notifications import tasks
from notifications.models import Mention

# The spans chat/rendering.py writes for a mention; the sanitizer lets no one else write them.
_USER_SPAN_RE = re.compile(r'<span class="mention" data-user-id="([^"]+)">')
_BROADCAST_SPAN_RE = re.compile(r'<span class="mention mention-all" data-mention="(channel|here)">')

# When one message reaches someone several ways, the most personal one is recorded.
_PRECEDENCE: list[str] = [
    Mention.Kind.DM,
    Mention.Kind.USER,
    Mention.Kind.HERE,
    Mention.Kind.CHANNEL,
]


def mentioned_in(rendered: str) -> tuple[set[str], set[str]]:
    """The user ids (as text) and the broadcasts (``channel``, ``here``) a rendered message
    mentions."""
    return set(_USER_SPAN_RE.findall(rendered)), set(_BROADCAST_SPAN_RE.findall(rendered))


def should_notify(membership: Membership | None) -> bool:
    """Whether a mention in a channel alerts the member (the ``notify`` flag of the ``mention``
    event; browser notifications, email and push follow it). It is recorded and counted
    either way. A muted channel or ``notify: none`` alerts nothing."""
    if membership is None or membership.muted:
        return False
    return membership.notify != Membership.Notify.NONE


def _recipients(message: Message, channel: Channel) -> dict[Any, tuple[str, Membership]]:
    """{user id: (kind, membership)} of the members the message reaches: members only,
    active ones only, never its author."""
    if message.deleted_at is not None:
        return {}
    named, broadcasts = mentioned_in(message.rendered)
    if not (channel.is_dm or named or broadcasts):
        return {}  # most messages: no query at all
    members = {
        membership.user_id: membership
        for membership in Membership.objects.filter(
            channel_id=message.channel_id, user__is_active=True
        ).exclude(user_id=message.user_id)
    }
    if not members:
        return {}
    if channel.is_dm:
        return {user_id: (Mention.Kind.DM, member) for user_id, member in members.items()}
    kinds: dict[Any, list[str]] = {}
    for user_id in members:
        if str(user_id) in named:
            kinds.setdefault(user_id, []).append(Mention.Kind.USER)
        if "channel" in broadcasts:
            kinds.setdefault(user_id, []).append(Mention.Kind.CHANNEL)
    if "here" in broadcasts:
        by_text = {str(user_id): user_id for user_id in members}
        for online in presence.online_among_now(list(members)):
            kinds.setdefault(by_text[online], []).append(Mention.Kind.HERE)
    return {
        user_id: (min(found, key=_PRECEDENCE.index), members[user_id])
        for user_id, found in kinds.items()
    }


def mentions_record(
    *, message: Message, notify: bool = True, created: bool = False
) -> list[Mention]:
    """Make ``message``'s mentions match its current state; call in the transaction that
    changed it, after its channel's seq was taken. Returns the mentions made just now.

    A deleted (or tombstoned) message mentions nobody; an edit removes the mentions it took
    out, adds the new ones and keeps the others (with their time). Each new mention queues a
    ``mention`` event to its user's sockets unless ``notify`` is false (a restore brings
    mentions back without alerting anyone again). Written as the service: the rows belong to
    the people mentioned, not to the author.
    """
    with rls.acting_as_service():
        channel = message.channel if "channel" in message._state.fields_cache else None
        if channel is None:
            channel = Channel.objects.get(pk=message.channel_id)
        wanted = _recipients(message, channel)
        existing = (
            {}
            if created
            else {mention.user_id: mention for mention in Mention.objects.filter(message=message)}
        )
        gone = [mention.pk for user_id, mention in existing.items() if user_id not in wanted]
        if gone:
            Mention.objects.filter(pk__in=gone).delete()
        for user_id, mention in existing.items():
            if user_id in wanted and mention.kind != wanted[user_id][0]:
                mention.kind = wanted[user_id][0]
                mention.save(update_fields=["kind"])
        new = [
            Mention(user_id=user_id, message=message, channel_id=message.channel_id, kind=kind)
            for user_id, (kind, _membership) in wanted.items()
            if user_id not in existing
        ]
        made = Mention.objects.bulk_create(new) if new else []
    if notify:
        for mention in made:
            events.notify_mention(
                user_id=mention.user_id,
                message=message,
                kind=mention.kind,
                alert=should_notify(wanted[mention.user_id][1]),
            )
        # Web Push to the devices of those it alerts (the worker sends: notifications.tasks).
        tasks.schedule_push([m for m in made if should_notify(wanted[m.user_id][1])])
    return made
