"""Direct messages: open the one conversation of a set of people (docs/architecture.md,
"Direct messages")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from chat import events, selectors
from chat.exceptions import ValidationError
from chat.models import Channel, Membership
from chat.services import base
from chat.validators import DM_NAME_PREFIX
from chatsite import ratelimit

# People in a direct message, its creator included.
DM_MIN_MEMBERS = 2
DM_MAX_MEMBERS = 9


def _bad_user_ids(detail: str) -> ValidationError:
    return ValidationError(detail, fields={"user_ids": [detail]})


def _members(*, creator: User, user_ids: Iterable[Any]) -> list[User]:
    """The creator and the active users named by ``user_ids`` (the creator may be named too)."""
    ids: set[int] = set()
    unknown: list[str] = []
    for raw in user_ids:
        text = str(raw)
        if text.isascii() and text.isdigit() and len(text) <= 19:
            ids.add(int(text))
        else:
            unknown.append(text[:20])
    ids.discard(creator.pk)
    if not ids and not unknown:
        raise _bad_user_ids("Name at least one other person.")
    if len(ids) + 1 > DM_MAX_MEMBERS:
        raise _bad_user_ids(f"A direct message has at most {DM_MAX_MEMBERS} people, you included.")
    found = {user.pk: user for user in User.objects.filter(pk__in=ids, is_active=True)}
    unknown += sorted(str(user_id) for user_id in ids if user_id not in found)
    if unknown:
        raise _bad_user_ids(f"No active user with the id {', '.join(unknown)}.")
    return sorted([creator, *found.values()], key=lambda user: user.username)


@transaction.atomic
def dm_open(*, user: User, user_ids: Iterable[Any]) -> tuple[Channel, bool]:
    """The direct message between ``user`` and ``user_ids``: made now (True) or found (False).

    One conversation per set of people, also when two of them open it at once: the unique
    ``dm_key`` lets one insert win, and the other finds its row. Every member's sockets get
    ``membership`` with the new conversation and start following it.
    """
    base.check_rate(ratelimit.DM_CREATE, user, "new direct messages")
    members = _members(creator=user, user_ids=user_ids)
    key = selectors.dm_key(member.pk for member in members)
    found = selectors.dm_get_by_key(key=key)
    if found is not None:
        return found, False
    channel_id = uuid.uuid4()
    try:
        with transaction.atomic():
            channel = Channel.objects.create(
                id=channel_id,
                name=f"{DM_NAME_PREFIX}{channel_id.hex}",
                kind=Channel.Kind.DM,
                dm_key=key,
                is_private=True,
                created_by=user,
            )
    except IntegrityError:
        # Someone opened the same conversation at the same moment and committed first.
        found = selectors.dm_get_by_key(key=key)
        if found is None:
            raise
        return found, False
    # The creator's membership first: row-level security shows the others' rows to a member.
    Membership.objects.create(channel=channel, user=user)
    Membership.objects.bulk_create(
        [Membership(channel=channel, user=member) for member in members if member.pk != user.pk]
    )
    channel.dm_members = members  # type: ignore[attr-defined]
    channel.is_member = True  # type: ignore[attr-defined]
    channel.unread_count = 0  # type: ignore[attr-defined]
    for member in members:
        events.notify_membership(user_id=member.pk, channel=channel, joined=True)
    return channel, True
