"""Bot API tokens, incoming and outgoing webhooks (docs/integrations.md).

Only a SHA-256 of each token is kept; the token itself is shown once, when made.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


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


class OutgoingWebhook(models.Model):
    """Posts each new message of ``channel`` (or those starting with a trigger word) to
    ``url``; a ``{"text": ...}`` answer is posted back as ``bot`` (docs/integrations.md).

    ``secret`` signs each delivery (HMAC-SHA256) and travels as its ``token``: kept as given,
    since signing needs it, and shown only when made or rotated.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(
        "chat.Channel", on_delete=models.CASCADE, related_name="outgoing_hooks"
    )
    bot = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outgoing_hooks"
    )
    name = models.CharField(max_length=80)
    url = models.CharField(max_length=2000)
    trigger_words = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100, editable=False)
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


class OutgoingDelivery(models.Model):
    """One message sent (or being sent) to one outgoing webhook: the delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    hook = models.ForeignKey(OutgoingWebhook, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="+")
    trigger_word = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "outgoing deliveries"

    def __str__(self) -> str:
        return f"{self.hook_id} / {self.message_id}: {self.status}"


class SlackObject(models.Model):
    """What ``manage.py import_slack`` made of one Slack object: a user, bot, channel,
    message or file, keyed by its Slack id, so that a second run finds it and adds nothing
    (docs/integrations.md, "Moving in from Slack"). Only the command reads it."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        BOT = "bot", "Bot"
        CHANNEL = "channel", "Channel"
        MESSAGE = "message", "Message"
        FILE = "file", "File"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # A message's key is its channel's Slack id and its ts ("C024BE91L/1355517523.000005").
    slack_id = models.CharField(max_length=200)
    object_id = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "slack_id"], name="integrations_slack_key"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["user", "bot", "channel", "message", "file"]),
                name="integrations_slack_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"Slack {self.kind} {self.slack_id}"


class ImportedAccount(models.Model):
    """An account made by an import for someone who has not signed in yet: inactive, without
    a password, until its owner claims it by email (``integrations.claims``). ``claimed_at``
    set: claimed; a moderator's deactivation later is never undone by a claim."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_account"
    )
    source = models.CharField(max_length=16, default="slack")
    source_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Imported account {self.user_id} ({self.source} {self.source_id})"
