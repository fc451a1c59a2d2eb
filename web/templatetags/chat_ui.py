"""Template pieces of the chat layout (docs/web.md): the sidebar of conversations, avatars.

static/js/people.js computes avatars the same way, so a live message and a server-rendered
one look alike.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from accounts.roles import acting_user
from chat import selectors

register = template.Library()

AVATAR_COLOURS = 8
_HASH_MODULUS = 1_000_003


def avatar_colour_of(user_id: Any) -> int:
    """One of AVATAR_COLOURS backgrounds, fixed per user (the same rule as people.js)."""
    value = 0
    for character in str(user_id):
        value = (value * 31 + ord(character)) % _HASH_MODULUS
    return value % AVATAR_COLOURS


def initials_of(name: str) -> str:
    """Up to two letters: the first of the first two words, or the first two of one word."""
    words = [word for word in str(name).replace("_", " ").replace(".", " ").split() if word]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


@register.filter
def avatar_colour(user_id: Any) -> int:
    return avatar_colour_of(user_id)


@register.filter
def initials(name: str) -> str:
    return initials_of(name)


def dm_label(members: list[User], user: User) -> str:
    """A direct message as its member ``user`` sees it: the others' names, sorted (the
    title the API gives it)."""
    return selectors.dm_title(members, user.pk) or user.shown_name


def dm_avatar(members: list[User], user: User) -> tuple[int, str]:
    """A direct message's avatar: the other person's, or the head count of a group (the same
    rule as static/js/sidebar.js)."""
    others = [member for member in members if member.pk != user.pk]
    if len(others) == 1:
        return avatar_colour_of(others[0].pk), initials_of(others[0].shown_name)
    return AVATAR_COLOURS - 1, str(len(members))


def _item(channel: Any, user: User) -> dict[str, Any]:
    kind = getattr(channel, "kind", "channel")
    colour, text = dm_avatar(getattr(channel, "dm_members", []), user)
    return {
        "avatar_colour": colour,
        "avatar_text": text,
        "pk": channel.pk,
        "name": channel.name,
        "kind": kind,
        "label": dm_label(getattr(channel, "dm_members", []), user)
        if kind == "dm"
        else channel.name,
        "is_private": channel.is_private,
        "last_seq": channel.last_seq,
        "unread_count": channel.unread_count,
        "unread_mentions": getattr(channel, "unread_mentions", 0),
        "notify": getattr(channel, "notify", None),
        "muted": bool(getattr(channel, "muted", False)),
    }


@register.inclusion_tag("chat/_sidebar.html", takes_context=True)
def conversation_sidebar(context: template.Context) -> dict[str, Any]:
    """The left sidebar of every signed-in page: the user's channels and direct messages."""
    request = context["request"]
    user = acting_user(request)
    current = context.get("channel")
    mine = [c for c in selectors.channel_list(user=user) if getattr(c, "is_member", False)]
    items = [_item(channel, user) for channel in selectors.attach_dm_members(mine)]
    dms = sorted((i for i in items if i["kind"] == "dm"), key=lambda i: i["label"].lower())
    return {
        "channels": [item for item in items if item["kind"] != "dm"],
        "dms": dms,
        "current_id": str(current.pk) if current is not None else "",
        # Channels' unread mentions and direct messages' unread messages (sidebar.js, total).
        "mention_total": sum(
            (item["unread_count"] if item["kind"] == "dm" else item["unread_mentions"]) or 0
            for item in items
        ),
        "user": user,
        "request": request,
    }
