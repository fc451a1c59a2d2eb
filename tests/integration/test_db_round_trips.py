"""The database backend sends savepoints and the security context with the next query.

What goes over the wire is recorded at psycopg's cursors, below Django: each ``execute`` there
is one round trip to PostgreSQL (BEGIN and COMMIT aside, which psycopg sends on its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from chat import services
from chat.models import Channel, Message
from chatsite import rls
from tests.factories import ChannelFactory


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


@pytest.mark.django_db
def test_a_savepoint_goes_out_with_the_first_query_inside_it(sent: list[str]) -> None:
    with transaction.atomic():
        _channel_count()
        sent.clear()
        with transaction.atomic():
            _channel_count()
        assert len(sent) == 1
        assert sent[0].startswith('SAVEPOINT "')
        assert sent[0].endswith("SELECT count(*) FROM chat_channel")
        # Its RELEASE waits for the next query, and rides with it.
        _channel_count()
        assert len(sent) == 2
        assert sent[1].startswith('RELEASE SAVEPOINT "')


@pytest.mark.django_db
def test_a_savepoint_with_nothing_inside_is_never_sent(sent: list[str]) -> None:
    with transaction.atomic():
        _channel_count()
        sent.clear()
        with transaction.atomic():
            pass
        with pytest.raises(RuntimeError), transaction.atomic():
            raise RuntimeError("rolled back before anything ran")
        _channel_count()
    assert sent == ["SELECT count(*) FROM chat_channel"]


@pytest.mark.django_db
def test_a_failed_query_rolls_back_to_its_deferred_savepoint(alice: Any) -> None:
    with transaction.atomic():
        kept = ChannelFactory.create(name="kept", created_by=alice)
        with pytest.raises(IntegrityError), transaction.atomic():
            # The SAVEPOINT went out in front of this INSERT, which fails.
            ChannelFactory.create(name="kept", created_by=alice)
        with transaction.atomic():
            ChannelFactory.create(name="after", created_by=alice)
    assert set(Channel.objects.values_list("name", flat=True)) >= {"kept", "after"}
    assert Channel.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_rollback_to_a_sent_savepoint_drops_the_releases_deferred_inside_it(alice: Any) -> None:
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            ChannelFactory.create(name="undone", created_by=alice)
            with transaction.atomic():
                ChannelFactory.create(name="inner", created_by=alice)
            raise RuntimeError("after the inner block released its savepoint")
        ChannelFactory.create(name="survivor", created_by=alice)
    names = set(Channel.objects.values_list("name", flat=True))
    assert "survivor" in names
    assert not names & {"undone", "inner"}


@pytest.mark.django_db
def test_posting_a_message_takes_three_round_trips(
    sent: list[str], alice: Any, channel: Any
) -> None:
    """Inside the request's transaction: the channel with the poster's membership (with the
    context and the service's savepoint), the seq (with the insert's savepoint), the insert.
    """
    with transaction.atomic(), rls.acting_as_user(alice):
        sent.clear()
        message, created = services.message_create(
            user=alice, channel_id=channel.pk, content="counted", client_id=uuid.uuid4()
        )
        round_trips = list(sent)
    assert created
    assert Message.objects.filter(pk=message.pk, content="counted").exists()
    assert len(round_trips) == 3, round_trips


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
