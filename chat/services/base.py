"""What every write shares: the channel's next seq, content and rate checks, rights checks."""

from __future__ import annotations

import uuid

from django.db import connection

from accounts import roles
from accounts.models import User
from chat import events, selectors
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


def check_owner_or_moderator(
    *, actor: User, channel: Channel, what: str = "manage members"
) -> None:
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or roles.is_moderator(actor)):
        raise PermissionDenied(f"Only the channel's owners and moderators can {what}.")


def check_not_dm(channel: Channel, what: str) -> None:
    """A direct message keeps the members it was made with and has no title or topic."""
    if channel.is_dm:
        raise PermissionDenied(f"Direct messages cannot {what}.", code="direct_message")


def lock_owners(channel: Channel) -> int:
    """Lock the owners' memberships of a private channel, in one order; how many there are.

    Call before locking any one membership of the channel: two owners leaving at once then
    take turns (the second sees one owner left), and nobody waits for the other's lock.
    """
    if not channel.is_private:
        return 0
    owners = Membership.objects.select_for_update().filter(
        channel=channel, role=Membership.Role.OWNER
    )
    return len(owners.order_by("pk").values_list("pk", flat=True))


def check_not_last_owner(*, channel: Channel, membership: Membership, owners: int) -> None:
    """A private channel keeps at least one owner: nobody else can manage its members.
    ``owners`` is ``lock_owners``'s count."""
    if channel.is_private and membership.role == Membership.Role.OWNER and owners <= 1:
        raise ValidationError(
            "A private channel needs an owner: make someone else an owner first.",
            code="last_owner",
            fields={"user_id": ["The last owner of a private channel."]},
        )


def notify_joined(*, user: User, channel: Channel) -> None:
    """``membership`` joined for ``user``, with the channel as they see it now."""
    shown = selectors.channel_shown_to(user=user, channel_id=channel.pk) or channel
    events.notify_membership(user_id=user.pk, channel=shown, joined=True)


def channel_as_left(*, user: User, channel: Channel) -> Channel:
    """The channel as ``user`` sees it, to tell them they left it: read it before the
    membership goes (a private channel is invisible after), then mark it left."""
    shown = selectors.channel_shown_to(user=user, channel_id=channel.pk) or channel
    shown.is_member = False  # type: ignore[attr-defined]
    shown.unread_count = 0  # type: ignore[attr-defined]
    return shown
