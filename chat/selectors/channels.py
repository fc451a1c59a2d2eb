"""Channels as a user sees them: visibility, unread counts, members, pages.

Visibility follows the access model (docs/architecture.md) and mirrors the row-level security
policies: a member sees public channels and the private ones they belong to; moderators and
admins see all. A private channel that a user may not see does not exist for them (NotFound,
never PermissionDenied).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts import roles
from accounts.models import User
from chat.exceptions import NotFound, ValidationError
from chat.models import Channel, Membership, Message
from chat.selectors.base import as_uuid, next_cursor
from chat.selectors.dms import attach_dm_members
from notifications.models import Mention


def channels_visible_to(user: User) -> QuerySet[Channel]:
    """Public channels and the user's own; moderators see every channel, but a direct
    message only when they are in it."""
    channels = Channel.objects.all()
    member_of = Membership.objects.filter(channel=OuterRef("pk"), user=user)
    if roles.is_moderator(user):
        return channels.filter(Q(kind=Channel.Kind.CHANNEL) | Q(Exists(member_of)))
    return channels.filter(Q(is_private=False) | Q(Exists(member_of)))


def channel_list(*, user: User, kind: str | None = None) -> QuerySet[Channel]:
    """Visible channels with ``is_member``, ``unread_count``, ``unread_mentions`` and the
    membership's ``notify`` and ``muted`` (None when not a member); with
    ``kind``, only channels (``channel``) or only direct messages (``dm``)."""
    membership = Membership.objects.filter(channel=OuterRef("pk"), user=user)
    read_up_to = Membership.objects.filter(channel=OuterRef(OuterRef("pk")), user=user)
    unread = (
        Message.objects.filter(
            channel=OuterRef("pk"),
            deleted_at__isnull=True,
            seq__gt=Coalesce(Subquery(read_up_to.values("last_read_seq")[:1]), Value(0)),
        )
        .exclude(user=user)
        .order_by()
        .values("channel")
        .annotate(count=Count("pk"))
        .values("count")
    )
    # A mention is unread while its message is past the read marker (docs/api.md, "Mentions").
    mentions = (
        Mention.objects.filter(
            channel=OuterRef("pk"),
            user=user,
            message__deleted_at__isnull=True,
            message__seq__gt=Coalesce(Subquery(read_up_to.values("last_read_seq")[:1]), Value(0)),
        )
        .order_by()
        .values("channel")
        .annotate(count=Count("pk"))
        .values("count")
    )
    visible = channels_visible_to(user)
    if kind is not None:
        visible = visible.filter(kind=kind)
    return visible.annotate(
        is_member=Exists(membership),
        unread_count=Case(
            When(
                Exists(membership),
                then=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
            ),
            default=Value(0),
        ),
        unread_mentions=Case(
            When(
                Exists(membership),
                then=Coalesce(Subquery(mentions, output_field=IntegerField()), Value(0)),
            ),
            default=Value(0),
        ),
        notify=Subquery(membership.values("notify")[:1]),
        muted=Subquery(membership.values("muted")[:1]),
    ).order_by("name")


def channel_get(*, user: User, channel_id: Any) -> Channel:
    channel_uuid = as_uuid(channel_id, field="channel_id")
    try:
        return channels_visible_to(user).get(pk=channel_uuid)
    except Channel.DoesNotExist:
        raise NotFound("Channel not found.") from None


_CHANNEL_WITH_MEMBERSHIP_SQL = (
    f"SELECT c.*, EXISTS (SELECT 1 FROM {Membership._meta.db_table} m"  # noqa: S608
    " WHERE m.channel_id = c.id AND m.user_id = %s) AS is_member"
    f" FROM {Channel._meta.db_table} c WHERE c.id = %s"
)


def channel_get_with_membership(*, user: User, channel_id: Any) -> tuple[Channel, bool]:
    """``channel_get`` and whether ``user`` belongs to the channel, in one query."""
    channel_uuid = as_uuid(channel_id, field="channel_id")
    # Raw SQL: on the hot path of every post, the ORM's compilation of this query cost more
    # than running it.
    pk_field = Channel._meta.pk
    assert pk_field is not None
    found = list(
        Channel.objects.raw(
            _CHANNEL_WITH_MEMBERSHIP_SQL,
            [user.pk, pk_field.get_db_prep_value(channel_uuid, connection)],
        )
    )
    if not found:
        raise NotFound("Channel not found.")
    channel = found[0]
    is_member = bool(getattr(channel, "is_member"))  # noqa: B009 (a computed column)
    # channels_visible_to, applied to the one row read.
    if not is_member and (channel.is_dm or (channel.is_private and not roles.is_moderator(user))):
        raise NotFound("Channel not found.")
    return channel, is_member


def channel_get_by_name(*, user: User, name: str) -> Channel:
    try:
        return channels_visible_to(user).get(name=name)
    except Channel.DoesNotExist:
        raise NotFound("Channel not found.") from None


def membership_get(*, user: User, channel: Channel) -> Membership | None:
    return Membership.objects.filter(channel=channel, user=user).first()


def channel_members(*, user: User, channel_id: Any) -> QuerySet[Membership]:
    channel = channel_get(user=user, channel_id=channel_id)
    return Membership.objects.filter(channel=channel).select_related("user").order_by("joined_at")


def channel_list_page(
    *, user: User, limit: int, cursor: str | None = None, kind: str | None = None
) -> tuple[list[Channel], str | None]:
    """A page of ``channel_list`` by name; the cursor is the last name of the page before."""
    channels = channel_list(user=user, kind=kind)
    if cursor:
        channels = channels.filter(name__gt=cursor)
    page = attach_dm_members(list(channels[: limit + 1]))
    return next_cursor(page, limit, lambda channel: channel.name)


def channel_shown_to(*, user: User, channel_id: Any) -> Channel | None:
    """One channel as ``channel_list`` shows it to ``user`` (with a direct message's
    members), or None when the user cannot see it."""
    channel = channel_list(user=user).filter(pk=as_uuid(channel_id, field="channel_id")).first()
    if channel is not None:
        attach_dm_members([channel])
    return channel


def channel_members_page(
    *, user: User, channel_id: Any, limit: int, cursor: str | None = None
) -> tuple[list[Membership], str | None]:
    """A page of a channel's members in the order they joined (the membership's id)."""
    members = channel_members(user=user, channel_id=channel_id).order_by("pk")
    if cursor:
        if not (cursor.isascii() and cursor.isdigit()):
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
        members = members.filter(pk__gt=int(cursor))
    return next_cursor(list(members[: limit + 1]), limit, lambda membership: membership.pk)


# Raw SQL for the reads of every WebSocket connect (docs/performance.md, "Round 3:
# connects"): the ORM compiling them cost more than PostgreSQL running them. Row-level
# security applies as for any query.
_MEMBER_CHANNELS_SQL = (
    f"SELECT c.id, c.name, c.last_seq FROM {Channel._meta.db_table} c"  # noqa: S608
    f" JOIN {Membership._meta.db_table} m ON m.channel_id = c.id"
    " WHERE m.user_id = %s ORDER BY c.name"
)
_CO_MEMBERS_SQL = (
    f"SELECT DISTINCT o.user_id FROM {Membership._meta.db_table} o"  # noqa: S608
    f" WHERE o.channel_id IN (SELECT m.channel_id FROM {Membership._meta.db_table} m"
    " WHERE m.user_id = %s) AND o.user_id <> %s ORDER BY o.user_id LIMIT %s"
)


def member_channels_and_co_members(
    *, user: User, limit: int = 1000
) -> tuple[list[tuple[uuid.UUID, str, int]], list[int]]:
    """``channel_ids_of_member`` and ``co_member_ids`` in one round trip on PostgreSQL: both
    statements go in one message (client-side binding), and in autocommit they run as one
    implicit transaction under the same row-level security context (a WebSocket handshake's
    reads, docs/performance.md, "Round 3: connects, second pass"). SQLite, or server-side
    binding, takes one statement at a time: two then."""
    options = connection.settings_dict.get("OPTIONS", {})
    if connection.vendor != "postgresql" or options.get("server_side_binding"):
        return channel_ids_of_member(user=user), co_member_ids(user=user, limit=limit)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_MEMBER_CHANNELS_SQL}; {_CO_MEMBERS_SQL}", [user.pk, user.pk, user.pk, limit]
        )
        channels = [(row[0], row[1], row[2]) for row in cursor.fetchall()]
        cursor.nextset()
        return channels, [row[0] for row in cursor.fetchall()]


def channel_ids_of_member(*, user: User) -> list[tuple[uuid.UUID, str, int]]:
    """(id, name, last_seq) of every channel the user belongs to, by name."""
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_CHANNELS_SQL, [user.pk])
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def co_member_ids(*, user: User, limit: int = 1000) -> list[int]:
    """Ids of the people who share a channel with the user (not the user), at most ``limit``."""
    with connection.cursor() as cursor:
        cursor.execute(_CO_MEMBERS_SQL, [user.pk, user.pk, limit])
        return [row[0] for row in cursor.fetchall()]


def channel_last_seqs(*, user: User, channel_ids: list[str]) -> dict[str, int]:
    """``{channel id: last_seq}`` of those of ``channel_ids`` the user can see."""
    rows = channels_visible_to(user).filter(pk__in=channel_ids).values_list("id", "last_seq")
    return {str(channel_id): last_seq for channel_id, last_seq in rows}


def socket_rights(
    *, user_ids: list[Any], channel_ids: list[str]
) -> tuple[dict[Any, User], dict[str, str], set[tuple[Any, str]]]:
    """What the open sockets' users may still do, in three queries (chat.keepalive).

    The current rows of ``user_ids`` by primary key, which of ``channel_ids`` are private
    ({id: kind}: a direct message is private to its members, moderators included), and the
    (user id, channel id) memberships among them. Read as the service: it spans users.
    """
    users = {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
    private = {
        str(channel_id): kind
        for channel_id, kind in Channel.objects.filter(
            pk__in=channel_ids, is_private=True
        ).values_list("id", "kind")
    }
    memberships = {
        (user_id, str(channel_id))
        for user_id, channel_id in Membership.objects.filter(
            user_id__in=user_ids, channel_id__in=channel_ids
        ).values_list("user_id", "channel_id")
    }
    return users, private, memberships


def channel_left_by(*, user: User, channel_id: Any) -> Channel | None:
    """A channel as shown to someone who just left it (not a member, nothing unread), read
    without regard to visibility: call as the service, for the user's own sockets only."""
    channel = Channel.objects.filter(pk=as_uuid(channel_id, field="channel_id")).first()
    if channel is not None:
        attach_dm_members([channel])
        channel.is_member = False  # type: ignore[attr-defined]
        channel.unread_count = 0  # type: ignore[attr-defined]
        channel.unread_mentions = 0  # type: ignore[attr-defined]
    return channel
