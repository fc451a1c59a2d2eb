"""Direct messages: the one for a set of members, and the members of those a user is in.

A direct message lists its members in every shape a client sees (docs/api.md), so the reads
that return channels attach them here (``dm_members`` on each direct message), one query per
list rather than one per conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import User
from chat.models import Channel, Membership


def dm_key(user_ids: Iterable[Any]) -> str:
    """The key of a member set: the ids in ascending order, comma separated."""
    return ",".join(str(user_id) for user_id in sorted({int(user_id) for user_id in user_ids}))


def dm_get_by_key(*, key: str) -> Channel | None:
    return Channel.objects.filter(kind=Channel.Kind.DM, dm_key=key).first()


def dm_members(channel_ids: Iterable[Any]) -> dict[str, list[User]]:
    """{channel id: its members, by username} for the direct messages among ``channel_ids``."""
    found: dict[str, list[User]] = {}
    memberships = (
        Membership.objects.filter(channel_id__in=list(channel_ids), channel__kind=Channel.Kind.DM)
        .select_related("user")
        .order_by("user__username")
    )
    for membership in memberships:
        found.setdefault(str(membership.channel_id), []).append(membership.user)
    return found


def attach_dm_members(channels: list[Channel]) -> list[Channel]:
    """Give each direct message of ``channels`` its ``dm_members`` (one query for all)."""
    dm_ids = [channel.pk for channel in channels if channel.is_dm]
    if dm_ids:
        members = dm_members(dm_ids)
        for channel in channels:
            if channel.is_dm:
                channel.dm_members = members.get(str(channel.pk), [])  # type: ignore[attr-defined]
    return channels


def dm_title(members: Iterable[Any], viewer_id: Any) -> str:
    """A direct message's title for one of its members: the others' names, sorted."""
    others = [member for member in members if str(member.pk) != str(viewer_id)]
    names = sorted((member.display_name or member.username for member in others), key=str.lower)
    return ", ".join(names)


def conversation_title(*, channel: Channel, viewer: User) -> str:
    """What to call a conversation for ``viewer``: a channel's title (or name), or a direct
    message's other members (docs/architecture.md, "Direct messages")."""
    if not channel.is_dm:
        return channel.title or channel.name
    members = getattr(channel, "dm_members", None)
    if members is None:
        members = dm_members([channel.pk]).get(str(channel.pk), [])
    return dm_title(members, viewer.pk)


def dm_members_of(*, user: User) -> dict[str, list[User]]:
    """{channel id: members} of every direct message ``user`` is in."""
    mine = Membership.objects.filter(user=user, channel__kind=Channel.Kind.DM).values_list(
        "channel_id", flat=True
    )
    return dm_members(mine)
