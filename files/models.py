"""An uploaded file: its bytes in storage, the row here, attached to at most one message."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from chat.models import Message


class Upload(models.Model):
    """One file a user uploaded. Until a message carries it only its uploader sees it; then
    whoever may read the message (row-level security, files/migrations/0001_initial.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    # The name as shown and offered for download, cleaned of paths and control characters;
    # the bytes are stored under ``storage_key``, which never derives from it.
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    # Read from the bytes (files/sniffing.py), never from the name or the client.
    content_type = models.CharField(max_length=100)
    storage_key = models.CharField(max_length=255, unique=True)
    thumbnail_key = models.CharField(max_length=255, blank=True, default="")
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The worker's sweep of uploads never attached (files.services.uploads_remove_stale).
            models.Index(
                fields=["created_at"],
                name="files_upload_unattached",
                condition=models.Q(message__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=0), name="files_upload_size"),
            models.CheckConstraint(
                condition=models.Q(message__isnull=True) | models.Q(attached_at__isnull=False),
                name="files_upload_attached_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"
