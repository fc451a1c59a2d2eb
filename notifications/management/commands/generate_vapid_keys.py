"""``manage.py generate_vapid_keys``: a new key pair for Web Push, as environment lines."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications import push


class Command(BaseCommand):
    help = "Print a new VAPID key pair for Web Push (docs/operations.md, 'Push notifications')."

    def handle(self, *args: Any, **options: Any) -> None:
        public, private = push.generate_keys()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
        self.stdout.write("VAPID_SUBJECT=mailto:admin@example.com  # who to contact: yours")
