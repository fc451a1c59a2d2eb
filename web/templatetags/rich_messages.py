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
