"""Row-level security of the outgoing webhooks and their delivery log, checked through the
runtime role (no ownership, no BYPASSRLS) with raw SQL."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from chat import services as chat_services
from chatsite import rls
from integrations import outgoing
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_rls import _runtime_connection
from tests.integration.test_rls_integrations import _act, _count

pytestmark = pytest.mark.django_db(transaction=True)
HOOKS = "integrations_outgoingwebhook"
DELIVERIES = "integrations_outgoingdelivery"


@pytest.fixture(autouse=True)
def _outgoing_settings(settings: Any) -> None:
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    settings.CHAT_OUTGOING_WEBHOOK_REFRESH = 0


@pytest.fixture
def rows() -> dict[str, Any]:
    alice = UserFactory.create(username="alice")
    bob = UserFactory.create(username="bob")
    moderator = UserFactory.create(username="mod", role="moderator")
    owned = ChannelFactory.create(name="owned", created_by=alice)
    MembershipFactory.create(channel=owned, user=alice, role="owner")
    MembershipFactory.create(channel=owned, user=bob)
    other = ChannelFactory.create(name="other", created_by=moderator)
    MembershipFactory.create(channel=other, user=moderator, role="owner")
    url = "http://127.0.0.1:9/hook"
    with rls.acting_as_user(alice):
        hook, _ = outgoing.outgoing_hook_create(actor=alice, channel_id=owned.pk, name="a", url=url)
    with rls.acting_as_user(moderator):
        other_hook, _ = outgoing.outgoing_hook_create(
            actor=moderator, channel_id=other.pk, name="b", url=url
        )
    with rls.acting_as_user(bob):
        message, _ = chat_services.message_create(user=bob, channel_id=owned.pk, content="hi")
    with rls.acting_as_user(moderator):
        chat_services.message_create(user=moderator, channel_id=other.pk, content="hi")
    return {"alice": alice, "bob": bob, "moderator": moderator, "owned": owned,
            "other": other, "hook": hook, "other_hook": other_hook,
            "message": message}  # fmt: skip


def test_hooks_and_deliveries_are_seen_by_moderators_and_owners_only(
    rows: dict[str, Any],
) -> None:
    with _runtime_connection() as raw:
        _act(raw, None, "")
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (0, 0)
        _act(raw, rows["bob"], "authenticated")  # a member, whose message was delivered
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (0, 0)
        _act(raw, rows["hook"].bot, "authenticated")  # a hook's bot cannot read its secret
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (0, 0)
        _act(raw, rows["alice"], "authenticated")
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (1, 1)  # her channel's only
        _act(raw, rows["moderator"], "moderator")
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (2, 2)
        _act(raw, None, "service")
        assert (_count(raw, HOOKS), _count(raw, DELIVERIES)) == (2, 2)


def test_owners_make_and_revoke_hooks_only_in_their_channels(rows: dict[str, Any]) -> None:
    insert = (
        f"INSERT INTO {HOOKS} (id, channel_id, bot_id, name, url, trigger_words, secret,"  # noqa: S608
        " created_by_id, created_at) VALUES (%s, %s, %s, 'x', 'http://127.0.0.1/', '[]',"
        " 's', %s, now())"
    )
    alice, bot = rows["alice"], rows["hook"].bot
    with _runtime_connection() as raw:
        _act(raw, alice, "authenticated")
        raw.execute(insert, [uuid.uuid4(), rows["owned"].pk, bot.pk, alice.pk])
        for channel, creator in ((rows["other"], alice), (rows["owned"], rows["bob"])):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(insert, [uuid.uuid4(), channel.pk, bot.pk, creator.pk])
        revoked = raw.execute(
            f"UPDATE {HOOKS} SET revoked_at = now() WHERE id = %s",  # noqa: S608
            [rows["other_hook"].pk],
        )
        assert revoked.rowcount == 0
        _act(raw, rows["bob"], "authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(insert, [uuid.uuid4(), rows["owned"].pk, bot.pk, rows["bob"].pk])
        changed = raw.execute(
            f"UPDATE {HOOKS} SET url = 'http://10.0.0.1/' WHERE id = %s",  # noqa: S608
            [rows["hook"].pk],
        )
        assert changed.rowcount == 0


def test_only_the_service_and_moderators_write_deliveries(rows: dict[str, Any]) -> None:
    insert = (
        f"INSERT INTO {DELIVERIES} (hook_id, message_id, trigger_word, status, attempts,"  # noqa: S608
        " last_error, created_at) VALUES (%s, %s, '', 'pending', 0, '', now())"
    )
    with _runtime_connection() as raw:
        for user, role in ((rows["alice"], "authenticated"), (rows["bob"], "authenticated")):
            _act(raw, user, role)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(insert, [rows["hook"].pk, rows["message"].pk])
            updated = raw.execute(f"UPDATE {DELIVERIES} SET status = 'delivered'")  # noqa: S608
            assert updated.rowcount == 0
        _act(raw, None, "service")
        raw.execute(insert, [rows["hook"].pk, rows["message"].pk])
        assert _count(raw, DELIVERIES) == 3
