"""What notifications are made of: a ``Mention`` per recipient of a message that calls for
their attention (docs/api.md, "Mentions").

A mention is unread while its message's ``seq`` is above the recipient's
``Membership.last_read_seq`` in the channel: reading the channel reads its mentions, so no
read flag is kept here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Mention(models.Model):
    """One message that mentions one user (or reaches them as a direct message)."""

    class Kind(models.TextChoices):
        USER = "user", "@username"
        CHANNEL = "channel", "@channel"
        HERE = "here", "@here"
        DM = "dm", "direct message"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="mentions")
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="notifications_mention_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["user", "channel", "here", "dm"]),
                name="notifications_mention_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="notifications_mention_feed"),
            models.Index(fields=["user", "channel"], name="notifications_mention_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mention of {self.user_id} in {self.message_id}"
