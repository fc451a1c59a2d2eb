"""manage.py remove_stale_uploads: delete uploads no message took within
CHAT_UPLOAD_STALE_HOURS (docs/operations.md, "Attachments and storage")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from files import services


class Command(BaseCommand):
    help = "Delete uploads that no message carries, older than CHAT_UPLOAD_STALE_HOURS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=None,
            help="Age in hours (default: CHAT_UPLOAD_STALE_HOURS, "
            f"{settings.CHAT_UPLOAD_STALE_HOURS}).",
        )

    def handle(self, *args: Any, hours: int | None = None, **options: Any) -> None:
        older_than = timedelta(hours=hours) if hours is not None else None
        removed = services.uploads_remove_stale(older_than=older_than)
        self.stdout.write(f"Removed {removed} upload(s) never attached.")
