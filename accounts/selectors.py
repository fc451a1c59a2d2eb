"""Reads of people: one by id, and the search behind the people pickers (docs/api.md,
"People")."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User

# PostgreSQL bigint holds 19 digits; longer ids name nobody.
MAX_ID_DIGITS = 18
USER_SEARCH_LIMIT = 20


def user_get(*, user_id: str | int) -> User | None:
    """The user with this id (digits, or the number), or None."""
    text = str(user_id)
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
        return None
    return User.objects.filter(pk=int(text)).first()


def user_search(*, query: str | None, limit: int = USER_SEARCH_LIMIT) -> QuerySet[User]:
    """Active users whose username or display name starts with ``query`` (any case), by
    username; without a query, everyone active. At most ``limit`` (20)."""
    users = User.objects.filter(is_active=True)
    if query:
        users = users.filter(Q(username__istartswith=query) | Q(display_name__istartswith=query))
    return users.order_by("username")[: min(limit, USER_SEARCH_LIMIT)]
