"""Template filters for rich messages: reaction chips and thread summaries as the room shows
them. static/js/rich.js renders the same markup for live messages (tests/js check both)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def reaction_chips(reactions: Any, user: Any) -> list[dict[str, Any]]:
    """A message's reactions with ``mine`` set where ``user`` is among those who reacted."""
    me = str(getattr(user, "pk", ""))
    return [
        {"emoji": r["emoji"], "count": r["count"], "mine": me in r.get("user_ids", [])}
        for r in reactions or []
    ]


@register.filter
def replies_text(count: Any) -> str:
    """ "1 reply", "N replies"."""
    number = int(count or 0)
    return "1 reply" if number == 1 else f"{number} replies"


# The box an image preview takes in a message, at most this wide and high (static/js/rich.js
# computes the same, for live messages).
PREVIEW_MAX_WIDTH = 360
PREVIEW_MAX_HEIGHT = 240


@register.filter
def preview_box(attachment: Any) -> dict[str, int]:
    """The width and height to show an image attachment's preview at, its shape kept."""
    width = int(attachment.get("width") or PREVIEW_MAX_WIDTH)
    height = int(attachment.get("height") or PREVIEW_MAX_HEIGHT)
    scale = min(1.0, PREVIEW_MAX_WIDTH / width, PREVIEW_MAX_HEIGHT / height)
    return {"width": max(1, round(width * scale)), "height": max(1, round(height * scale))}
