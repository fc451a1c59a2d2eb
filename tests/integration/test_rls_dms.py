"""Row-level security of direct messages (chat migration 0004): only a DM's members see its
rows, moderators and admins included; its members are fixed; owners edit a channel's title.

Raw SQL under each context, as the role the suite connects with (FORCE ROW LEVEL SECURITY
applies to it) and as the runtime role that owns nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError, transaction

from chat import services
from chat.models import Channel, Membership, Message
from chatsite import rls
from tests.factories import UserFactory
from tests.integration.test_rls import RLS_ERROR, _count, _rowcount, _runtime_connection

TABLES = ("chat_channel", "chat_membership", "chat_message")


@pytest.fixture
def dm(alice: Any, bob: Any) -> Channel:
    """alice and bob's direct message, with one message from each."""
    with rls.acting_as_user(alice):
        channel, _ = services.dm_open(user=alice, user_ids=[bob.pk])
        services.message_create(user=alice, channel_id=channel.pk, content="psst")
    with rls.acting_as_user(bob):
        services.message_create(user=bob, channel_id=channel.pk, content="hi")
    return channel


def _dm_rows(dm: Channel) -> list[int]:
    return [
        _count("chat_channel", "id = %s", [dm.pk]),
        _count("chat_membership", "channel_id = %s", [dm.pk]),
        _count("chat_message", "channel_id = %s", [dm.pk]),
    ]


@pytest.mark.django_db
def test_a_moderators_raw_queries_see_no_dm_rows(dm: Channel, moderator: Any) -> None:
    admin = UserFactory.create(username="root", role="admin")
    for outsider in (moderator, admin):
        with rls.acting_as_user(outsider):
            assert _dm_rows(dm) == [0, 0, 0]
            # Every row of the tables, unfiltered: none of the DM's.
            assert _count("chat_message", "content IN ('psst', 'hi')") == 0
            assert Channel.objects.filter(kind="dm").count() == 0
            assert Message.objects.filter(channel_id=dm.pk).count() == 0


@pytest.mark.django_db
def test_members_see_their_dm_and_outsiders_do_not(
    dm: Channel, alice: Any, bob: Any, user_factory: Any
) -> None:
    with rls.acting_as_user(alice):
        assert _dm_rows(dm) == [1, 2, 2]
    with rls.acting_as_user(bob):
        assert _dm_rows(dm) == [1, 2, 2]
    with rls.acting_as_user(user_factory.create(username="carol")):
        assert _dm_rows(dm) == [0, 0, 0]


@pytest.mark.django_db
def test_a_moderator_cannot_change_or_delete_dm_rows(dm: Channel, moderator: Any) -> None:
    with rls.acting_as_user(moderator):
        assert _rowcount("UPDATE chat_message SET deleted_at = now(), content = ''") == 0
        assert _rowcount("DELETE FROM chat_message WHERE channel_id = %s", [dm.pk]) == 0
        assert _rowcount("DELETE FROM chat_membership WHERE channel_id = %s", [dm.pk]) == 0
        assert _rowcount("DELETE FROM chat_channel WHERE id = %s", [dm.pk]) == 0
        assert _rowcount("UPDATE chat_channel SET archived_at = now() WHERE id = %s", [dm.pk]) == 0
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(
                "INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)"
                " VALUES (%s, %s, 'member', now(), 0)",
                [dm.pk, moderator.pk],
            )
    with rls.acting_as_service():
        assert Message.objects.filter(channel=dm, deleted_at__isnull=True).count() == 2
        assert Membership.objects.filter(channel=dm).count() == 2


@pytest.mark.django_db
def test_a_dms_members_are_fixed_for_its_members_too(
    dm: Channel, alice: Any, bob: Any, user_factory: Any
) -> None:
    carol = user_factory.create(username="carol")
    with rls.acting_as_user(alice):
        # Nobody leaves or is taken out, nobody is added, nobody claims to own it.
        assert _rowcount("DELETE FROM chat_membership WHERE channel_id = %s", [dm.pk]) == 0
        for user, role in ((carol, "member"), (carol, "owner")):
            with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
                _rowcount(
                    "INSERT INTO chat_membership (channel_id, user_id, role, joined_at,"
                    " last_read_seq) VALUES (%s, %s, %s, now(), 0)",
                    [dm.pk, user.pk, role],
                )
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_channel SET title = 'Ours' WHERE id = %s", [dm.pk])
        # Their own read marker moves.
        assert (
            _rowcount(
                "UPDATE chat_membership SET last_read_seq = 2 WHERE channel_id = %s"
                " AND user_id = %s",
                [dm.pk, alice.pk],
            )
            == 1
        )
    with rls.acting_as_service():
        assert Membership.objects.filter(channel=dm).count() == 2


@pytest.mark.django_db
def test_only_the_people_of_its_key_join_a_new_dm(alice: Any, bob: Any, user_factory: Any) -> None:
    carol = user_factory.create(username="carol")
    key = ",".join(str(pk) for pk in sorted([alice.pk, bob.pk]))
    dm_id = uuid.uuid4()
    with rls.acting_as_user(alice), transaction.atomic():
        _rowcount(
            "INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id,"
            " created_at, last_seq, kind, dm_key) VALUES (%s, %s, '', '', true, %s, now(), 0,"
            " 'dm', %s)",
            [dm_id, f"dm.{dm_id.hex}", alice.pk, key],
        )
        insert = (
            "INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)"
            " VALUES (%s, %s, 'member', now(), 0)"
        )
        assert _rowcount(insert, [dm_id, alice.pk]) == 1
        assert _rowcount(insert, [dm_id, bob.pk]) == 1
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(insert, [dm_id, carol.pk])
    # Someone else cannot seed a DM they did not create.
    with (
        rls.acting_as_user(bob),
        pytest.raises(ProgrammingError, match=RLS_ERROR),
        transaction.atomic(),
    ):
        _rowcount(insert, [dm_id, carol.pk])


@pytest.mark.django_db
def test_the_database_keeps_dm_names_keys_and_privacy_apart_from_channels(alice: Any) -> None:
    base = (
        "INSERT INTO chat_channel (id, name, title, topic, is_private, created_at, last_seq,"
        " kind, dm_key) VALUES (%s, %s, '', '', %s, now(), 0, %s, %s)"
    )
    bad_rows = [
        ("dm.abc", False, "channel", None),  # a channel named like a DM
        ("talk", True, "dm", "1,2"),  # a DM named like a channel
        (f"dm.{uuid.uuid4().hex}", False, "dm", "1,2"),  # a public DM
        (f"dm.{uuid.uuid4().hex}", True, "dm", None),  # a DM without its key
        ("talk", False, "channel", "1,2"),  # a channel with a key
        ("talk", False, "group", None),  # an unknown kind
    ]
    with rls.acting_as_service():
        for name, private, kind, key in bad_rows:
            with pytest.raises(Exception, match="chat_channel_"), transaction.atomic():
                _rowcount(base, [uuid.uuid4(), name, private, kind, key])
        _rowcount(base, [uuid.uuid4(), f"dm.{uuid.uuid4().hex}", True, "dm", "1,2"])
        with pytest.raises(Exception, match="dm_key"), transaction.atomic():
            _rowcount(base, [uuid.uuid4(), f"dm.{uuid.uuid4().hex}", True, "dm", "1,2"])


@pytest.mark.django_db
def test_owners_edit_title_and_topic_and_members_do_not(alice: Any, bob: Any, channel: Any) -> None:
    with rls.acting_as_service():
        Membership.objects.create(channel=channel, user=bob)
    with (
        rls.acting_as_user(bob),
        pytest.raises(ProgrammingError, match=RLS_ERROR),
        transaction.atomic(),
    ):
        _rowcount("UPDATE chat_channel SET topic = 'mine' WHERE id = %s", [channel.pk])
    with rls.acting_as_user(alice):
        assert _rowcount("UPDATE chat_channel SET topic = 'ours' WHERE id = %s", [channel.pk]) == 1
        # The title and the seq do not move together, nor does anything else.
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(
                "UPDATE chat_channel SET topic = 'x', last_seq = last_seq + 1 WHERE id = %s",
                [channel.pk],
            )
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_channel SET is_private = true WHERE id = %s", [channel.pk])


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_as_a_moderator_sees_no_dm_rows() -> None:
    alice = UserFactory.create(username="alice")
    bob = UserFactory.create(username="bob")
    moderator = UserFactory.create(username="mod", role="moderator")
    with rls.acting_as_user(alice):
        dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
        services.message_create(user=alice, channel_id=dm.pk, content="psst")
    with _runtime_connection() as raw:
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(moderator.pk)])
        raw.execute("SELECT set_config('app.role', 'moderator', false)")
        for table in TABLES:
            assert raw.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)  # noqa: S608
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(
                "INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)"
                " VALUES (%s, %s, 'member', now(), 0)",
                [dm.pk, moderator.pk],
            )
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(bob.pk)])
        raw.execute("SELECT set_config('app.role', 'authenticated', false)")
        assert raw.execute("SELECT count(*) FROM chat_message").fetchone() == (1,)
