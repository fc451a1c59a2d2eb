"""Row-level security of exports_userexport and of retention's channel columns, through the
runtime role (no BYPASSRLS): users see and ask for their own exports only, and change
neither their exports nor a channel's retention (exports/migrations/0001_initial.py,
chat/migrations/0013_channel_retention.py)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from exports.models import UserExport
from tests.integration.test_rls import _runtime_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _as(raw: psycopg.Connection[Any], user: Any, role: str = "authenticated") -> None:
    raw.execute("SELECT set_config('app.user_id', %s, false)", [str(user.pk)])
    raw.execute("SELECT set_config('app.role', %s, false)", [role])


def test_users_see_only_their_own_exports(alice: Any, bob: Any) -> None:
    mine = UserExport.objects.create(user=alice)
    UserExport.objects.create(user=bob)
    with _runtime_connection() as raw:
        _as(raw, alice)
        rows = raw.execute("SELECT id FROM exports_userexport").fetchall()
        assert [row[0] for row in rows] == [mine.pk]
        _as(raw, bob, role="moderator")
        rows = raw.execute("SELECT user_id FROM exports_userexport").fetchall()
        assert [row[0] for row in rows] == [bob.pk]  # moderators too see only their own


def test_users_ask_for_their_own_pending_export_and_change_nothing(alice: Any, bob: Any) -> None:
    mine = UserExport.objects.create(user=alice)
    insert = (
        "INSERT INTO exports_userexport (id, user_id, status, created_at, storage_key) "
        "VALUES (gen_random_uuid(), %s, %s, now(), '')"
    )
    with _runtime_connection() as raw:
        _as(raw, alice)
        raw.execute(insert, [alice.pk, "pending"])
        for user_id, status in ((bob.pk, "pending"), (alice.pk, "ready")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(insert, [user_id, status])
        updated = raw.execute(
            "UPDATE exports_userexport SET storage_key = 'x' WHERE id = %s", [mine.pk]
        )
        assert updated.rowcount == 0
        deleted = raw.execute("DELETE FROM exports_userexport WHERE id = %s", [mine.pk])
        assert deleted.rowcount == 0
    assert UserExport.objects.filter(user=alice).count() == 2


def test_members_cannot_change_retention_or_trimmed_seq(alice: Any, channel: Any) -> None:
    with _runtime_connection() as raw:
        _as(raw, alice)  # alice owns the channel
        for statement in (
            "UPDATE chat_channel SET retention_days = 1 WHERE id = %s",
            "UPDATE chat_channel SET trimmed_seq = 0 WHERE id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(statement, [channel.pk])
    channel.refresh_from_db()
    assert channel.retention_days is None
