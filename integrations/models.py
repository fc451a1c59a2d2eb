"""Bot API tokens and incoming webhooks (docs/integrations.md).

Only a SHA-256 of each token is kept; the token itself is shown once, when made.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class BotToken(models.Model):
    """An API token of a bot, sent as ``Authorization: Bearer <token>``.

    ``channel_ids`` empty: the token acts wherever its bot may. Otherwise only in those
    channels (a list of channel ids as strings).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_tokens"
    )
    name = models.CharField(max_length=80, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    channel_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Token {self.name or str(self.pk)[:8]} of {self.bot_id}"


class IncomingWebhook(models.Model):
    """A URL, ``/api/hooks/<token>/``, that posts to ``channel`` as ``bot``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="hooks")
    bot = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hooks"
    )
    name = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
