"""Load the demo data from seeds/chat/seed_messages.sql, idempotently, on any database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlparse
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts.models import User
from chat.models import Channel, Message

SEED_FILE = Path(settings.BASE_DIR) / "seeds" / "chat" / "seed_messages.sql"
SEED_FILE_PASSWORD = "chatsite-demo"  # noqa: S105 - the demo password hashed in the file
SEED_USERNAMES = ("alice", "bob", "carol", "moderator")


class Command(BaseCommand):
    help = "Load the demo users, channels and messages (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        statements = [s for s in sqlparse.split(SEED_FILE.read_text()) if s.strip(" \n;")]
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement.rstrip().rstrip(";"))
            self._apply_seed_password()
        self.stdout.write(
            f"seeded: {User.objects.count()} users, {Channel.objects.count()} channels, "
            f"{Message.objects.count()} messages"
        )

    def _apply_seed_password(self) -> None:
        """Give demo users SEED_PASSWORD while they still have the seed file's password."""
        password = settings.SEED_PASSWORD
        if password == SEED_FILE_PASSWORD:
            return
        for user in User.objects.filter(username__in=SEED_USERNAMES):
            if check_password(SEED_FILE_PASSWORD, user.password):
                user.password = make_password(password)
                user.save(update_fields=["password"])
