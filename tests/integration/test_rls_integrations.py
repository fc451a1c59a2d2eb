"""Row-level security of the integrations tables and of the sender override on chat_message,
checked through the runtime role (no ownership, no BYPASSRLS) with raw SQL."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from chatsite import rls
from integrations import services
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_rls import _runtime_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _act(raw: psycopg.Connection[Any], user: Any | None, role: str) -> None:
    raw.execute("SELECT set_config('app.user_id', %s, false)", [str(user.pk) if user else ""])
    raw.execute("SELECT set_config('app.role', %s, false)", [role])


def _count(raw: psycopg.Connection[Any], table: str) -> int:
    row = raw.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


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
    with rls.acting_as_user(alice):
        hook, _ = services.hook_create(actor=alice, channel_id=owned.pk, name="a")
    with rls.acting_as_user(moderator):
        services.hook_create(actor=moderator, channel_id=other.pk, name="b")
        bot = services.bot_create(actor=moderator, username="robot")
        services.bot_token_create(actor=moderator, bot=bot)
    return {"alice": alice, "bob": bob, "moderator": moderator, "owned": owned,
            "other": other, "hook": hook, "bot": bot}  # fmt: skip


def test_tokens_and_hooks_are_seen_by_moderators_and_owners_only(rows: dict[str, Any]) -> None:
    with _runtime_connection() as raw:
        _act(raw, None, "")
        assert _count(raw, "integrations_bottoken") == 0
        assert _count(raw, "integrations_incomingwebhook") == 0
        _act(raw, rows["bob"], "authenticated")
        assert _count(raw, "integrations_bottoken") == 0
        assert _count(raw, "integrations_incomingwebhook") == 0
        _act(raw, rows["bot"], "authenticated")  # a bot cannot read its own token hashes
        assert _count(raw, "integrations_bottoken") == 0
        _act(raw, rows["alice"], "authenticated")
        assert _count(raw, "integrations_bottoken") == 0
        assert _count(raw, "integrations_incomingwebhook") == 1  # her channel's only
        _act(raw, rows["moderator"], "moderator")
        assert _count(raw, "integrations_bottoken") == 1
        assert _count(raw, "integrations_incomingwebhook") == 2


def test_owners_make_and_revoke_hooks_only_in_their_channels(rows: dict[str, Any]) -> None:
    insert = (
        "INSERT INTO integrations_incomingwebhook (id, channel_id, bot_id, name, token_hash,"
        " created_by_id, created_at) VALUES (%s, %s, %s, 'x', %s, %s, now())"
    )
    alice, bot = rows["alice"], rows["bot"]
    with _runtime_connection() as raw:
        _act(raw, alice, "authenticated")
        raw.execute(insert, [uuid.uuid4(), rows["owned"].pk, bot.pk, "h1", alice.pk])
        for channel, creator in ((rows["other"], alice), (rows["owned"], rows["bob"])):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(
                    insert, [uuid.uuid4(), channel.pk, bot.pk, uuid.uuid4().hex, creator.pk]
                )
        _act(raw, rows["bob"], "authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(insert, [uuid.uuid4(), rows["owned"].pk, bot.pk, "h2", rows["bob"].pk])
        revoked = raw.execute(
            "UPDATE integrations_incomingwebhook SET revoked_at = now() WHERE id = %s",
            [rows["hook"].pk],
        )
        assert revoked.rowcount == 0


def test_only_a_bot_posts_under_another_name(rows: dict[str, Any]) -> None:
    insert = (
        "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
        " change_seq, sender_name) VALUES (%s, %s, %s, 'hi', now(), %s, %s, %s)"
    )
    alice, owned = rows["alice"], rows["owned"]
    with _runtime_connection() as raw:
        _act(raw, alice, "authenticated")
        with raw.transaction():
            seq = raw.execute(
                "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
                [owned.pk],
            ).fetchone()[0]  # type: ignore[index]
            raw.execute(insert, [uuid.uuid4(), owned.pk, alice.pk, seq, seq, ""])
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="only bots"),
            raw.transaction(),
        ):
            seq = raw.execute(
                "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
                [owned.pk],
            ).fetchone()[0]  # type: ignore[index]
            raw.execute(insert, [uuid.uuid4(), owned.pk, alice.pk, seq, seq, "The CEO"])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only bots"):
            raw.execute(
                "UPDATE chat_message SET sender_name = 'The CEO' WHERE user_id = %s", [alice.pk]
            )
