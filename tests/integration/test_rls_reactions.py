"""Row-level security of chat_reaction, and the columns of chat_message that only the service
writes (reply counts, reaction summaries, thread membership), checked with raw SQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction

from chat import services
from chat.models import Reaction
from chatsite import rls
from tests.integration.test_rls import _runtime_connection, _take_seq

RLS_ERROR = "row-level security"
INSERT = (
    "INSERT INTO chat_reaction (message_id, user_id, emoji, created_at) VALUES (%s, %s, %s, now())"
)


def _rowcount(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _count(where: str = "TRUE", params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM chat_reaction WHERE {where}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


@pytest.fixture
def reacted(alice: Any, bob: Any, channel: Any, private_channel: Any, post: Any) -> dict[str, Any]:
    public = post(alice, channel, "public")
    private = post(alice, private_channel, "private")
    services.reaction_add(user=alice, message_id=public.pk, emoji="👍")
    services.reaction_add(user=alice, message_id=private.pk, emoji="🔒")
    return {"public": public, "private": private}


@pytest.mark.django_db
def test_reactions_are_read_where_their_message_is(reacted: Any, bob: Any, alice: Any) -> None:
    with rls.acting_as_user(bob):
        assert _count() == 1  # not the one in alice's private channel
    with rls.acting_as_user(alice):
        assert _count() == 2
    with rls.acting_as(rls.ANONYMOUS):
        assert _count() == 0


@pytest.mark.django_db
def test_members_react_only_as_themselves_and_only_where_they_see(
    reacted: Any, alice: Any, bob: Any
) -> None:
    with rls.acting_as_user(bob):
        assert _rowcount(INSERT, [reacted["public"].pk, bob.pk, "🎉"]) == 1
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(INSERT, [reacted["public"].pk, alice.pk, "😈"])
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(INSERT, [reacted["private"].pk, bob.pk, "😈"])


@pytest.mark.django_db
def test_no_reaction_on_a_tombstone(reacted: Any, alice: Any, bob: Any) -> None:
    services.message_delete(user=alice, message_id=reacted["public"].pk)
    with (
        rls.acting_as_user(bob),
        pytest.raises(ProgrammingError, match=RLS_ERROR),
        transaction.atomic(),
    ):
        _rowcount(INSERT, [reacted["public"].pk, bob.pk, "🎉"])


@pytest.mark.django_db
def test_members_remove_only_their_own_reactions_and_never_rewrite_one(
    reacted: Any, alice: Any, bob: Any, moderator: Any
) -> None:
    with rls.acting_as_user(bob):
        assert _rowcount("DELETE FROM chat_reaction") == 0
        assert _rowcount("UPDATE chat_reaction SET emoji = '💩'") == 0
    with rls.acting_as_user(alice):
        assert _rowcount("UPDATE chat_reaction SET emoji = '💩'") == 0
        assert _rowcount("DELETE FROM chat_reaction WHERE emoji = '👍'") == 1
    with rls.acting_as_user(moderator):
        assert _rowcount("DELETE FROM chat_reaction") == 1
    with rls.acting_as_service():
        assert not Reaction.objects.exists()


@pytest.mark.django_db
def test_authors_cannot_write_counts_summaries_or_move_a_message_between_threads(
    reacted: Any, alice: Any, channel: Any, post: Any
) -> None:
    own = reacted["public"]
    other = post(alice, channel, "another")
    with rls.acting_as_user(alice):
        for assignment, value in (
            ("reply_count = %s", 99),
            ("reactions = %s::jsonb", '[{"emoji": "x", "count": 9, "user_ids": []}]'),
            ("parent_id = %s", other.pk),
            ("last_reply_at = %s", "2020-01-01T00:00:00Z"),
        ):
            with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
                sql = f"UPDATE chat_message SET {assignment}, change_seq = %s WHERE id = %s"  # noqa: S608
                _rowcount(sql, [value, _take_seq(channel.pk), own.pk])


@pytest.mark.django_db(transaction=True)
def test_runtime_role_is_subject_to_the_reaction_policies(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi")
    services.reaction_add(user=alice, message_id=message.pk, emoji="👍")
    with _runtime_connection() as raw:
        assert raw.execute("SELECT count(*) FROM chat_reaction").fetchone() == (0,)
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(bob.pk)])
        raw.execute("SELECT set_config('app.role', 'authenticated', false)")
        assert raw.execute("SELECT count(*) FROM chat_reaction").fetchone() == (1,)
        assert raw.execute("DELETE FROM chat_reaction").rowcount == 0
        for ddl in (
            "ALTER TABLE chat_reaction DISABLE ROW LEVEL SECURITY",
            "DROP POLICY chat_reaction_select ON chat_reaction",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(ddl)
