"""Reactions: one Unicode emoji per (message, user, emoji), at most MAX_DISTINCT per message.

A reaction change is a change of the message: it takes the channel's next seq as the
message's ``change_seq`` and goes out as ``message.updated`` with the message's new
``reactions`` summary, so ``since_seq`` replays it like an edit.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from chat import events, rendering, selectors
from chat.exceptions import NotFound, ValidationError
from chat.models import Message, Reaction
from chat.services import base
from chatsite import ratelimit, rls

MAX_DISTINCT = 20


def check_emoji(value: object) -> str:
    """One Unicode emoji (skin tones and ZWJ sequences included), or a 400 naming ``emoji``."""
    if not rendering.is_emoji(value):
        problem = "Must be one Unicode emoji."
        raise ValidationError(problem, code="unknown_emoji", fields={"emoji": [problem]})
    assert isinstance(value, str)
    return value


def _reactable(*, user: User, message_id: Any) -> Message:
    message = selectors.message_get_any(user=user, message_id=message_id)
    if message.deleted_at is not None:
        problem = "This message was deleted."
        raise ValidationError(problem, code="message_deleted", fields={"message_id": [problem]})
    base.check_writable(message.channel)
    return message


def reactions_summary(message_id: Any) -> list[dict[str, Any]]:
    """``[{emoji, count, user_ids}]``, each emoji in the order it was first used."""
    summary: dict[str, dict[str, Any]] = {}
    rows = Reaction.objects.filter(message_id=message_id).order_by("created_at", "id")
    for emoji, user_id in rows.values_list("emoji", "user_id"):
        entry = summary.setdefault(emoji, {"emoji": emoji, "count": 0, "user_ids": []})
        entry["count"] += 1
        entry["user_ids"].append(str(user_id))
    return list(summary.values())


def _record_change(message: Message, seq: int) -> Message:
    """Give the message ``seq`` (just taken) and its new summary, and tell the channel.

    The summary is derived from chat_reaction, so it is written as the service (members may
    not write other people's messages); the caller holds the channel's seq lock.
    """
    summary = reactions_summary(message.pk)
    with rls.acting_as_service():
        Message.objects.filter(pk=message.pk).update(change_seq=seq, reactions=summary)
    message.change_seq = seq
    message.reactions = summary
    if message.parent_id is not None:
        message.parent = Message.objects.get(pk=message.parent_id)
    events.notify_message(message, "message.updated")
    return message


@transaction.atomic
def reaction_add(*, user: User, message_id: Any, emoji: object) -> tuple[Message, bool]:
    """Add the user's ``emoji`` to a live message. Returns the message and whether the
    reaction is new (False: it was there already, and nothing changed)."""
    base.check_rate(ratelimit.REACTION, user, "reactions")
    emoji = check_emoji(emoji)
    message = _reactable(user=user, message_id=message_id)
    # The seq (and with it the channel's lock) first: it orders the message's reaction
    # changes, so the count of distinct emoji below cannot be raced past MAX_DISTINCT.
    try:
        with transaction.atomic():
            seq = base.next_seq(message.channel_id)
            used = set(
                Reaction.objects.filter(message=message).values_list("emoji", flat=True).distinct()
            )
            if emoji not in used and len(used) >= MAX_DISTINCT:
                problem = f"A message takes at most {MAX_DISTINCT} different reactions."
                raise ValidationError(
                    problem, code="too_many_reactions", fields={"emoji": [problem]}
                )
            Reaction.objects.create(message=message, user=user, emoji=emoji)
    except IntegrityError:
        # Already there (or an identical request won the race): the savepoint gave the seq
        # back, and nothing changes.
        return message, False
    _record_change(message, seq)
    return message, True


@transaction.atomic
def reaction_remove(*, user: User, message_id: Any, emoji: object) -> Message:
    """Take back the user's ``emoji`` from a live message (404 if it is not there)."""
    base.check_rate(ratelimit.REACTION, user, "reactions")
    if not isinstance(emoji, str) or not emoji or len(emoji) > 64:
        raise NotFound("Reaction not found.", fields={"emoji": ["Reaction not found."]})
    message = _reactable(user=user, message_id=message_id)
    deleted, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
    if not deleted:
        raise NotFound("Reaction not found.", fields={"emoji": ["Reaction not found."]})
    _record_change(message, base.next_seq(message.channel_id))
    return message
