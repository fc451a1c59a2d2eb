"""Row-level security of what a Slack import makes, through the runtime role (no ownership,
no BYPASSRLS) with raw SQL: the map of Slack ids is out of its reach entirely, imported
accounts are the service's alone, and imported public channels read like any other."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command

from accounts.models import User
from chat.models import Channel
from tests import slack_export as sx
from tests.factories import UserFactory
from tests.integration.test_rls import _runtime_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _act(raw: psycopg.Connection[Any], user: Any | None, role: str) -> None:
    raw.execute("SELECT set_config('app.user_id', %s, false)", [str(user.pk) if user else ""])
    raw.execute("SELECT set_config('app.role', %s, false)", [role])


def _count(raw: psycopg.Connection[Any], sql: str, params: list[Any] | None = None) -> int:
    row = raw.execute(sql, params or []).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def imported(tmp_path: Path) -> dict[str, Any]:
    call_command("import_slack", str(sx.sample(tmp_path / "e.zip")), stdout=io.StringIO())
    return {
        "alice": User.objects.get(username="alice"),
        "general": Channel.objects.get(name="general"),
        "member": UserFactory.create(username="newcomer"),
    }


def test_the_runtime_role_cannot_touch_the_map_of_slack_ids(imported: dict[str, Any]) -> None:
    with _runtime_connection() as raw:
        for user, role in ((None, ""), (imported["member"], "authenticated"), (None, "service")):
            _act(raw, user, role)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute("SELECT count(*) FROM integrations_slackobject")


def test_imported_accounts_are_read_by_the_service_only(imported: dict[str, Any]) -> None:
    sql = "SELECT count(*) FROM integrations_importedaccount"
    with _runtime_connection() as raw:
        _act(raw, None, "")
        assert _count(raw, sql) == 0
        _act(raw, imported["member"], "authenticated")
        assert _count(raw, sql) == 0
        _act(raw, imported["member"], "moderator")
        assert _count(raw, sql) == 0
        _act(raw, None, "service")
        assert _count(raw, sql) == 3
        _act(raw, imported["member"], "authenticated")
        updated = raw.execute("UPDATE integrations_importedaccount SET claimed_at = now()")
        assert updated.rowcount == 0


def test_members_read_the_imported_public_history(imported: dict[str, Any]) -> None:
    sql = "SELECT count(*) FROM chat_message WHERE channel_id = %s"
    with _runtime_connection() as raw:
        _act(raw, None, "")
        assert _count(raw, sql, [imported["general"].pk]) == 0
        _act(raw, imported["member"], "authenticated")
        assert _count(raw, sql, [imported["general"].pk]) == 7
        # Searchable through the one search function, as any public message.
        _act(raw, imported["member"], "authenticated")
        found = _count(
            raw,
            "SELECT count(*) FROM chat_search(ARRAY[to_tsquery('simple', 'waves')], "
            "ARRAY[NULL]::text[], ARRAY[1], NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, "
            "NULL, NULL, NULL, 10)",
        )
        assert found == 1
