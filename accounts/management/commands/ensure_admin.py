"""Make the first admin from CHAT_ADMIN_USERNAME and CHAT_ADMIN_PASSWORD, once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from chat.exceptions import ValidationError


class Command(BaseCommand):
    help = (
        "Create a superuser from CHAT_ADMIN_USERNAME, CHAT_ADMIN_PASSWORD and CHAT_ADMIN_EMAIL "
        "unless that user exists (an existing account is never changed)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        username = settings.CHAT_ADMIN_USERNAME
        password = settings.CHAT_ADMIN_PASSWORD
        if not username:
            if password:
                raise CommandError("CHAT_ADMIN_PASSWORD is set but CHAT_ADMIN_USERNAME is not")
            return
        if not password:
            raise CommandError(f"CHAT_ADMIN_USERNAME={username} needs CHAT_ADMIN_PASSWORD")
        try:
            admin = services.user_ensure_admin(
                username=username, password=password, email=settings.CHAT_ADMIN_EMAIL
            )
        except ValidationError as exc:
            raise CommandError(f"admin {username} not created: {exc.detail}") from None
        if admin is None:
            self.stdout.write(f"admin {username}: exists, left unchanged")
        else:
            self.stdout.write(f"admin {username}: created (superuser)")
