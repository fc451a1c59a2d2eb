"""What every write shares: the channel's next seq, content and rate checks, rights checks."""

from __future__ import annotations

import uuid

from django.db import connection

from accounts import roles
from accounts.models import User
from chat.exceptions import NotFound, PermissionDenied, RateLimited, ValidationError
from chat.models import Channel, Membership
from chat.validators import clean_content, content_problem
from chatsite import ratelimit

NEXT_SEQ_SQL = "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"


def next_seq(channel_id: uuid.UUID) -> int:
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


def check_content(content: object) -> str:
    problem = content_problem(content)
    if problem:
        raise ValidationError(problem, fields={"content": [problem]})
    assert isinstance(content, str)
    return clean_content(content)


def check_rate(limit: ratelimit.Limit, user: User, what: str) -> None:
    """Spend one action of the user's budget; over it, RateLimited (429 or an error event).

    The budget is the user's whichever door the action came by (REST, WebSocket, a page),
    and is counted in the shared cache, so every process spends the same one.
    """
    wait = ratelimit.hit(limit, str(user.pk))
    if wait is not None:
        raise RateLimited(f"Too many {what}; try again in {wait} s.", retry_after=wait)


def check_writable(channel: Channel) -> None:
    if channel.is_archived:
        raise PermissionDenied("This channel is archived and read-only.", code="archived")


def check_moderator(user: User) -> None:
    if not roles.is_moderator(user):
        raise PermissionDenied("Only moderators can do this.")


def check_owner_or_moderator(*, actor: User, channel: Channel) -> None:
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or roles.is_moderator(actor)):
        raise PermissionDenied("Only the channel's owners and moderators can manage members.")
