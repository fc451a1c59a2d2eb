"""The database itself holds the data rules (docs/architecture.md), read back from pg_catalog."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections, transaction
from django.db.utils import IntegrityError

from chat import services
from chat.models import Message
from chatsite import rls
from tests.factories import ChannelFactory, MembershipFactory, UserFactory


def _constraints(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass",
            [table],
        )
        return dict(cursor.fetchall())


def _index_columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_message_constraints_exist_in_postgres() -> None:
    constraints = _constraints("chat_message")
    assert "length(content) >= 1" in constraints["chat_message_content_len"]
    assert "length(content) <= 4000" in constraints["chat_message_content_len"]
    assert constraints["chat_message_channel_seq"] == "UNIQUE (channel_id, seq)"
    assert constraints["chat_message_channel_change_seq"] == "UNIQUE (channel_id, change_seq)"
    assert constraints["chat_message_client_id"] == "UNIQUE (user_id, client_id)"
    foreign = [d for d in constraints.values() if d.startswith("FOREIGN KEY")]
    assert len(foreign) == 3  # channel, user, and a reply's parent


@pytest.mark.django_db
def test_indexes_serve_history_sync_and_moderation_reads() -> None:
    indexes = " ".join(_index_columns("chat_message"))
    assert "(channel_id, seq)" in indexes
    assert "(channel_id, change_seq)" in indexes
    assert "(user_id)" in indexes
    assert "(channel_id, user_id)" in " ".join(_index_columns("chat_membership"))
    assert "lower((email)::text)" in " ".join(_index_columns("accounts_user"))


@pytest.mark.django_db
def test_raw_insert_of_4001_characters_is_refused_by_the_database(alice, channel) -> None:
    with (
        pytest.raises(IntegrityError, match="chat_message_content_len"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
            " change_seq) VALUES (%s, %s, %s, %s, now(), 1, 1)",
            [uuid.uuid4(), channel.pk, alice.pk, "x" * 4001],
        )
    with (
        pytest.raises(IntegrityError, match="chat_message_content_len"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
            " change_seq) VALUES (%s, %s, %s, '', now(), 1, 1)",
            [uuid.uuid4(), channel.pk, alice.pk],
        )
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_distinct_gap_free_seqs() -> None:
    channel = ChannelFactory.create()
    senders = [UserFactory.create() for _ in range(8)]
    for user in senders:
        MembershipFactory.create(channel=channel, user=user)
    per_sender = 10
    barrier = threading.Barrier(len(senders))
    errors: list[BaseException] = []

    def send_all(user) -> None:
        try:
            with rls.acting_as_service():
                barrier.wait()
                for i in range(per_sender):
                    services.message_create(user=user, channel_id=channel.pk, content=f"m{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send_all, args=(user,)) for user in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    seqs = sorted(Message.objects.filter(channel=channel).values_list("seq", flat=True))
    total = len(senders) * per_sender
    assert seqs == list(range(1, total + 1))
    channel.refresh_from_db()
    assert channel.last_seq == total


@pytest.mark.django_db(transaction=True)
def test_racing_identical_client_ids_create_one_message() -> None:
    channel = ChannelFactory.create()
    user = UserFactory.create()
    MembershipFactory.create(channel=channel, user=user)
    client_id = uuid.uuid4()
    barrier = threading.Barrier(6)
    results: list[tuple[uuid.UUID, bool]] = []

    def send() -> None:
        try:
            with rls.acting_as_service():
                barrier.wait()
                message, created = services.message_create(
                    user=user, channel_id=channel.pk, content="once", client_id=client_id
                )
                results.append((message.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 6
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    channel.refresh_from_db()
    assert channel.last_seq == 1
