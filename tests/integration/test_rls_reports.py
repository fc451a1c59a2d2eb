"""Row-level security of chat_report through the runtime role (no ownership, no BYPASSRLS):
reporters see and file their own reports, moderators see and close all of them, and a direct
message's report is readable by moderators who still see nothing else of it."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from chat import services
from chatsite import rls
from tests.factories import UserFactory
from tests.integration.test_rls import _runtime_connection

pytestmark = pytest.mark.django_db(transaction=True)

INSERT = (
    "INSERT INTO chat_report (id, message_id, channel_id, channel_kind, channel_label, author_id,"
    " reporter_id, reason, detail, snapshot, created_at)"
    " VALUES (gen_random_uuid(), %s, %s, 'channel', '#x', %s, %s, 'spam', '', %s, now())"
)


def _as(raw: psycopg.Connection[Any], user: Any, role: str = "authenticated") -> None:
    raw.execute("SELECT set_config('app.user_id', %s, false)", [str(user.pk) if user else ""])
    raw.execute("SELECT set_config('app.role', %s, false)", [role])


def _count(raw: psycopg.Connection[Any], where: str = "TRUE", params: Any = None) -> int:
    row = raw.execute(f"SELECT count(*) FROM chat_report WHERE {where}", params).fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


@pytest.fixture
def reported() -> dict[str, Any]:
    """bob reports alice in #general, carol reports alice in their direct message."""
    alice = UserFactory.create(username="alice")
    bob = UserFactory.create(username="bob")
    carol = UserFactory.create(username="carol")
    moderator = UserFactory.create(username="mod", role="moderator")
    with rls.acting_as_user(alice):
        general = services.channel_create(user=alice, name="general")
        public, _ = services.message_create(user=alice, channel_id=general.pk, content="spam")
        dm, _ = services.dm_open(user=alice, user_ids=[carol.pk])
        private, _ = services.message_create(user=alice, channel_id=dm.pk, content="nasty")
    with rls.acting_as_user(bob):
        by_bob, _ = services.report_create(user=bob, message_id=public.pk, reason="spam")
    with rls.acting_as_user(carol):
        by_carol, _ = services.report_create(user=carol, message_id=private.pk, reason="abuse")
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "moderator": moderator,
        "general": general,
        "dm": dm,
        "public": public,
        "private": private,
        "by_bob": by_bob,
        "by_carol": by_carol,
    }


def test_reporters_read_their_own_reports_and_moderators_all(reported: dict[str, Any]) -> None:
    with _runtime_connection() as raw:
        row = raw.execute(
            "SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False,)
        assert _count(raw) == 0  # anonymous
        _as(raw, reported["bob"])
        assert _count(raw) == 1
        assert _count(raw, "id = %s", [reported["by_bob"].pk]) == 1
        _as(raw, reported["alice"])  # the author does not see who reported them
        assert _count(raw) == 0
        _as(raw, reported["moderator"], "moderator")
        assert _count(raw) == 2
        # The report of the direct message, but nothing else of it.
        assert _count(raw, "channel_kind = 'dm'") == 1
        messages = raw.execute(
            "SELECT count(*) FROM chat_message WHERE channel_id = %s", [reported["dm"].pk]
        ).fetchone()
        assert messages == (0,)


def test_members_file_reports_only_as_themselves_of_messages_they_read(
    reported: dict[str, Any],
) -> None:
    bob, alice, carol = reported["bob"], reported["alice"], reported["carol"]
    public, private = reported["public"], reported["private"]
    snapshot = json.dumps({})
    with _runtime_connection() as raw:
        _as(raw, bob)
        # As someone else.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(INSERT, [public.pk, public.channel_id, alice.pk, carol.pk, snapshot])
        # A direct message bob is not in.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(INSERT, [private.pk, private.channel_id, alice.pk, bob.pk, snapshot])
        # Naming another author than the message's, or another channel.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(INSERT, [public.pk, public.channel_id, carol.pk, bob.pk, snapshot])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(INSERT, [public.pk, private.channel_id, alice.pk, bob.pk, snapshot])
        # A second open report of the same message.
        with pytest.raises(psycopg.errors.UniqueViolation):
            raw.execute(INSERT, [public.pk, public.channel_id, alice.pk, bob.pk, snapshot])
        _as(raw, carol)
        raw.execute(INSERT, [public.pk, public.channel_id, alice.pk, carol.pk, snapshot])
        assert _count(raw) == 2


def test_only_moderators_close_reports_and_only_the_service_deletes_them(
    reported: dict[str, Any],
) -> None:
    report = reported["by_bob"]
    close = (
        "UPDATE chat_report SET resolution = 'dismissed', resolved_at = now(), "
        "resolved_by_id = %s WHERE id = %s"
    )
    with _runtime_connection() as raw:
        _as(raw, reported["bob"])
        assert raw.execute(close, [reported["bob"].pk, report.pk]).rowcount == 0
        assert raw.execute("DELETE FROM chat_report").rowcount == 0
        _as(raw, reported["moderator"], "moderator")
        assert raw.execute("DELETE FROM chat_report").rowcount == 0
        assert raw.execute(close, [reported["moderator"].pk, report.pk]).rowcount == 1
        raw.execute("SELECT set_config('app.role', 'service', false)")
        assert raw.execute("DELETE FROM chat_report").rowcount == 2
        for ddl in (
            "ALTER TABLE chat_report DISABLE ROW LEVEL SECURITY",
            "DROP POLICY chat_report_select ON chat_report",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(ddl)
