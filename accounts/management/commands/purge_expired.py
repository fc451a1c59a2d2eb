"""Delete expired refresh-token records and expired sessions (docs/operations.md).

Nothing else ever deletes them: simplejwt keeps a row per refresh token issued (and one per
blacklisted token), Django a row per session. This calls the libraries' own clean-ups,
simplejwt's ``flushexpiredtokens`` and Django's ``clearsessions``. Safe to run at any time
and as often as wanted; ``make run`` and the compose migrate job run it at start.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

DATABASE_SESSIONS = "django.contrib.sessions.backends.db"


class Command(BaseCommand):
    help = "Delete expired refresh tokens (and their blacklist entries) and expired sessions."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        tokens = OutstandingToken.objects.filter(expires_at__lte=now).count()
        call_command("flushexpiredtokens")
        counted_sessions = settings.SESSION_ENGINE == DATABASE_SESSIONS
        sessions = Session.objects.filter(expire_date__lt=now).count() if counted_sessions else 0
        call_command("clearsessions")
        self.stdout.write(
            f"Purged {tokens} expired refresh token(s)"
            + (
                f" and {sessions} expired session(s)."
                if counted_sessions
                else " and expired sessions."
            )
        )
