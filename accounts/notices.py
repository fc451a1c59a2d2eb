"""What an operator starting a server should know about accounts (printed by `manage.py
serve`): where mails go, and who may sign up."""

from __future__ import annotations

from django.conf import settings

_SIGNUP = {
    "open": "anyone may sign up (CHAT_SIGNUP=open)",
    "invite": "sign-up by invitation links, made in the admin or with POST /api/auth/invites/",
    "closed": "sign-up is closed (CHAT_SIGNUP=closed): admins make accounts",
}


def serving_notes() -> list[str]:
    if settings.EMAIL_URL:
        mail = f"mail: sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT} (EMAIL_URL)"
    else:
        mail = "mail: printed here, not sent (set EMAIL_URL to send it)"
    return [mail, f"accounts: {_SIGNUP[settings.CHAT_SIGNUP]}"]
