"""The database backend sends the security context with the query it is for; savepoints are
Django's own (docs/performance.md has the measurement that decided it).

What goes over the wire is recorded at psycopg's cursors, below Django: each ``execute`` there
is one round trip to PostgreSQL (BEGIN and COMMIT aside, which psycopg sends on its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.test import override_settings

from chat import services
from chat.models import Message
from chatsite import rls
from integrations import dispatch


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL text of every execute that psycopg sends, in order."""
    statements: list[str] = []
    original = psycopg.Cursor.execute  # ClientCursor's too

    def recording(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    yield statements


def _channel_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM chat_channel")
        return int(cursor.fetchone()[0])


def _post(user: Any, channel: Any, sent: list[str], client_id: uuid.UUID | None) -> list[str]:
    """What posting a message inside the request's transaction sends: one item a round trip,
    the first word of its last statement (a context goes in front of a statement).

    The set of channels with outgoing webhooks is read first: a process reads it once per
    CHAT_OUTGOING_WEBHOOK_REFRESH, not per message (integrations.dispatch)."""
    with (
        override_settings(CHAT_OUTGOING_WEBHOOK_REFRESH=3600),
        transaction.atomic(),
        rls.acting_as_user(user),
    ):
        dispatch.forget_hooked_channels()
        dispatch.outgoing_schedule(message=Message(channel_id=channel.pk), author=user)
        sent.clear()
        message, created = services.message_create(
            user=user, channel_id=channel.pk, content="counted", client_id=client_id
        )
        round_trips = list(sent)
    assert created
    assert Message.objects.filter(pk=message.pk, content="counted").exists()
    assert round_trips[0].startswith("SELECT set_config('app.user_id', ")
    return [statement.split("; ")[-1].split()[0] for statement in round_trips]


@pytest.mark.django_db
def test_posting_a_message_takes_seven_round_trips(
    sent: list[str], alice: Any, channel: Any
) -> None:
    """The service's savepoint (the context rides with it), the channel with the poster's
    membership, the savepoint that gives the seq back for a repeated client_id, the seq, the
    insert, and the two RELEASEs."""
    assert _post(alice, channel, sent, uuid.uuid4()) == [
        "SAVEPOINT",
        "SELECT",
        "SAVEPOINT",
        "UPDATE",
        "INSERT",
        "RELEASE",
        "RELEASE",
    ]


@pytest.mark.django_db
def test_without_a_client_id_the_insert_needs_no_savepoint(
    sent: list[str], alice: Any, channel: Any
) -> None:
    assert _post(alice, channel, sent, None) == [
        "SAVEPOINT",
        "SELECT",
        "UPDATE",
        "INSERT",
        "RELEASE",
    ]


@pytest.mark.django_db
def test_a_repeated_client_id_gives_its_seq_back(alice: Any, channel: Any) -> None:
    client_id = uuid.uuid4()
    with rls.acting_as_user(alice):
        first, created = services.message_create(
            user=alice, channel_id=channel.pk, content="once", client_id=client_id
        )
        again, created_again = services.message_create(
            user=alice, channel_id=channel.pk, content="once", client_id=client_id
        )
    channel.refresh_from_db()
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert channel.last_seq == first.seq


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_the_context_goes_out_alone(sent: list[str]) -> None:
    """VACUUM refuses to run in a transaction block, which a shared round trip would be."""
    connection.close()
    with rls.acting_as_service(), connection.cursor() as cursor:
        cursor.execute("VACUUM chat_channel")
    assert sent[-1] == "VACUUM chat_channel"
    assert "set_config" in sent[-2]


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_a_query_carries_a_context_that_ends_with_it(
    sent: list[str], alice: Any
) -> None:
    connection.close()
    connection.ensure_connection()  # past the pool's check of the connection (an empty query)
    with rls.acting_as_user(alice):
        sent.clear()
        assert _channel_count() == 0
        assert len(sent) == 1
        assert sent[0].startswith("SELECT set_config('app.user_id', ")
    with rls.acting_as_service(), psycopg.ClientCursor(connection.connection) as raw:
        # Read past Django's cursors: nothing of alice's stayed on the session.
        raw.execute("SELECT current_setting('app.user_id', true)")
        row = raw.fetchone()
        assert row is not None
        assert row[0] in (None, "")
