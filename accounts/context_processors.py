"""Template context of the account pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def signup(request: HttpRequest) -> dict[str, str]:
    """``signup_mode``: CHAT_SIGNUP (`open`, `invite` or `closed`), for the login page's and
    the closed sign-up page's wording."""
    return {"signup_mode": settings.CHAT_SIGNUP}
