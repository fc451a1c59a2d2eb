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
from chat import services
from chat.models import Channel, Message

SEED_FILE = Path(settings.BASE_DIR) / "seeds" / "chat" / "seed_messages.sql"
SEED_FILE_PASSWORD = "chatsite-demo"  # noqa: S105 - the demo password hashed in the file
SEED_USERNAMES = ("alice", "bob", "carol", "moderator")


NOT_SEEDED = (
    "seeded nothing: demo users need DJANGO_DEBUG=1 (`make run`) or an explicit SEED_PASSWORD"
)


def demo_password() -> str | None:
    """The demo users' password, or None where there must be no demo users.

    An explicit SEED_PASSWORD, else the seed file's published one, but only with DEBUG on (a
    development server, on a loopback address): a published password on a server reachable
    by others would be a way in for anyone.
    """
    if settings.SEED_PASSWORD:
        return str(settings.SEED_PASSWORD)
    return SEED_FILE_PASSWORD if settings.DEBUG else None


def demo_users_exist() -> bool:
    return User.objects.filter(username__in=SEED_USERNAMES).exists()


class Command(BaseCommand):
    help = (
        "Load the demo users, channels and messages (safe to run again); only with DEBUG on "
        "or an explicit SEED_PASSWORD."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password()
        if password is None:
            self.stdout.write(NOT_SEEDED)
            return
        statements = [s for s in sqlparse.split(SEED_FILE.read_text()) if s.strip(" \n;")]
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement.rstrip().rstrip(";"))
            self._apply_seed_password(password)
            # The SQL writes content only; the HTML clients show is rendered here.
            services.messages_render_missing()
        self.stdout.write(
            f"seeded: {User.objects.count()} users, {Channel.objects.count()} channels, "
            f"{Message.objects.count()} messages"
        )

    def _apply_seed_password(self, password: str) -> None:
        """Give demo users SEED_PASSWORD while they still have the seed file's password."""
        if password == SEED_FILE_PASSWORD:
            return
        for user in User.objects.filter(username__in=SEED_USERNAMES):
            if check_password(SEED_FILE_PASSWORD, user.password):
                user.password = make_password(password)
                user.save(update_fields=["password"])
