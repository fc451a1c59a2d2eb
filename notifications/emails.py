"""The notification email: one per user per window, listing the messages that wait for them
(docs/operations.md, "Email notifications")."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from notifications.delivery import unsubscribe_token

SNIPPET_LENGTH = 300


@dataclass(frozen=True)
class MailItem:
    """One message in the email."""

    where: str
    author: str
    kind: str
    text: str
    url: str
    sent_at: str


def absolute(path: str) -> str:
    return f"{settings.CHAT_SITE_URL}{path}"


def message_url(channel_name: str, message_id: object) -> str:
    """Where a message opens: its room, scrolled to it (docs/api.md, "Search")."""
    return absolute(f"/channels/{channel_name}/?{urlencode({'m': str(message_id)})}")


def unsubscribe_url(user: User) -> str:
    return absolute(reverse("notifications-unsubscribe", args=[unsubscribe_token(user)]))


def snippet(content: str) -> str:
    flat = " ".join(content.split())
    return flat if len(flat) <= SNIPPET_LENGTH else flat[: SNIPPET_LENGTH - 1] + "…"


def subject_for(items: list[MailItem]) -> str:
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    if len(items) == 1:
        item = items[0]
        if item.kind == "dm":
            return f"{prefix}New message from {item.author}"
        return f"{prefix}{item.author} mentioned you in {item.where}"
    return f"{prefix}{len(items)} messages are waiting for you"


def build(user: User, items: list[MailItem]) -> EmailMultiAlternatives:
    """The email for ``user``, with a plain-text and an HTML part and the one-click
    unsubscribe headers of RFC 2369 and RFC 8058."""
    unsubscribe = unsubscribe_url(user)
    context = {
        "user": user,
        "items": items,
        "unsubscribe_url": unsubscribe,
        "settings_url": absolute(reverse("notifications-settings")),
        "site_url": settings.CHAT_SITE_URL,
    }
    mail = EmailMultiAlternatives(
        subject=subject_for(items),
        body=render_to_string("notifications/email.txt", context),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    mail.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    return mail
