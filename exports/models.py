"""A user's archive of their own data (docs/integrations.md, "Exporting your own data")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserExport(models.Model):
    """One request for an archive: queued, built by the worker into storage, downloadable by
    its user alone until ``expires_at``, then removed with its file."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    storage_key = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="exports_user_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "running", "ready", "failed"]),
                name="exports_userexport_status",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ready")
                | models.Q(expires_at__isnull=False, size__isnull=False),
                name="exports_userexport_ready",
            ),
        ]

    def __str__(self) -> str:
        return f"export of {self.user_id} ({self.status})"
