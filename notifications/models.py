"""What notifications are made of: a ``Mention`` per recipient of a message that calls for
their attention (docs/api.md, "Mentions").

A mention is unread while its message's ``seq`` is above the recipient's
``Membership.last_read_seq`` in the channel: reading the channel reads its mentions, so no
read flag is kept here.
"""

from __future__ import annotations

import uuid

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


class PushSubscription(models.Model):
    """One browser's Web Push subscription (docs/api.md, "Push subscriptions"): where the
    push service receives messages for that device, and the keys its payloads are encrypted
    to. An endpoint belongs to one user at a time: the last who subscribed on the device."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"push subscription of {self.user_id}"


class NotificationPreference(models.Model):
    """A user's notification settings and where their email notifications stand. No row
    means the defaults (email on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    email_enabled = models.BooleanField(default=True)
    # The highest Mention id already considered for an email: mentions at or below it were
    # mailed, read in time, or not worth a mail.
    email_checked_through = models.BigIntegerField(default=0)
    email_last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"
