"""The audit trail of moderation: who did what to which message, user or channel, and when.

Entries are Django's admin ``LogEntry`` rows, written by the moderation services in the same
transaction as the change (so a rolled-back change leaves no entry, and a change made outside
the admin is recorded too). Moderators read them in the admin under "Audit log".
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models

OBJECT_REPR_MAX = 200


def record(*, actor: Any, target: models.Model, description: str, change_message: str) -> LogEntry:
    """Write one entry: ``actor`` changed ``target`` (shown as ``description``)."""
    return LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        object_repr=description[:OBJECT_REPR_MAX],
        action_flag=CHANGE,
        change_message=change_message,
    )


def describe_message(message: Any) -> str:
    channel = message.channel
    where = "a direct message" if channel.is_dm else f"#{channel.name}"
    return f"message {message.seq} by {message.user.username} in {where}"
