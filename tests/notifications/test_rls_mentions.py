"""Row-level security of notifications_mention: a user reads only their own mentions and
nobody but the service writes them; checked with raw SQL, also through the runtime role."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import ProgrammingError, connection, transaction

from chatsite import rls
from notifications.models import Mention
from tests.factories import MembershipFactory
from tests.integration.test_rls import _runtime_connection

RLS_ERROR = "row-level security"
INSERT = (
    "INSERT INTO notifications_mention (user_id, message_id, channel_id, kind, created_at) "
    "VALUES (%s, %s, %s, 'user', now())"
)


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notifications_mention")
        return int(cursor.fetchone()[0])


def _rowcount(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@pytest.fixture
def mentioned(alice: Any, bob: Any, channel: Any, post: Any) -> Any:
    MembershipFactory.create(channel=channel, user=bob)
    message = post(alice, channel, "@bob hello")
    post(bob, channel, "@alice hi")
    assert Mention.objects.count() == 2
    return message


@pytest.mark.django_db
def test_users_read_only_their_own_mentions(mentioned: Any, alice: Any, bob: Any) -> None:
    with rls.acting_as_user(bob):
        assert _count() == 1
        assert list(Mention.objects.values_list("user_id", flat=True)) == [bob.pk]
    with rls.acting_as_user(alice):
        assert _count() == 1
    with rls.acting_as(rls.ANONYMOUS):
        assert _count() == 0


@pytest.mark.django_db
def test_moderators_do_not_read_other_peoples_mentions(mentioned: Any, moderator: Any) -> None:
    with rls.acting_as_user(moderator):
        assert _count() == 0


@pytest.mark.django_db
def test_only_the_service_writes_mentions(mentioned: Any, alice: Any, bob: Any) -> None:
    with rls.acting_as_user(bob):
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(INSERT, [bob.pk, mentioned.pk, mentioned.channel_id])
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(INSERT, [alice.pk, mentioned.pk, mentioned.channel_id])
        # Their own rows are theirs to read, not to change or drop.
        assert _rowcount("UPDATE notifications_mention SET kind = 'dm'") == 0
        assert _rowcount("DELETE FROM notifications_mention") == 0
    assert _count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_is_held_to_the_same_rules(alice: Any, bob: Any, channel: Any) -> None:
    from chat import services

    MembershipFactory.create(channel=channel, user=bob)
    services.message_create(user=alice, channel_id=channel.pk, content="@bob ping")
    with _runtime_connection() as raw:
        assert raw.execute("SELECT count(*) FROM notifications_mention").fetchone() == (0,)
        raw.execute("SELECT set_config('app.role', 'authenticated', false)")
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(alice.pk)])
        assert raw.execute("SELECT count(*) FROM notifications_mention").fetchone() == (0,)
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(bob.pk)])
        assert raw.execute("SELECT count(*) FROM notifications_mention").fetchone() == (1,)
        assert raw.execute("DELETE FROM notifications_mention").rowcount == 0


@pytest.mark.django_db
def test_members_change_their_own_notify_and_mute_only(alice: Any, bob: Any, channel: Any) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    with rls.acting_as_user(bob):
        assert (
            _rowcount(
                "UPDATE chat_membership SET notify = 'all', muted = true WHERE user_id = %s",
                [bob.pk],
            )
            == 1
        )
        # alice's row is not bob's to change: the policy finds no row.
        assert (
            _rowcount("UPDATE chat_membership SET muted = false WHERE user_id = %s", [alice.pk])
            == 0
        )
    with (
        rls.acting_as_user(alice),
        pytest.raises(ProgrammingError, match=RLS_ERROR),
        transaction.atomic(),
    ):
        # alice owns the channel and may change bob's role, but not how he is notified.
        _rowcount("UPDATE chat_membership SET muted = false WHERE user_id = %s", [bob.pk])
