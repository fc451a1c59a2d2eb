"""Bot API tokens on /ws/chat/ (docs/integrations.md, "Bots on the WebSocket"): the
``bearer.csb_…`` subprotocol authenticates the token's bot, a token limited to some channels
acts only there, and a forged, revoked or deactivated one is refused like a bad JWT, also
when it is revoked while the socket is open."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from chat import consumers, keepalive, services, ws_auth
from chatsite import rls
from integrations import services as integration_services
from integrations.models import BotToken
from tests.factories import ChannelFactory, MembershipFactory
from tests.integration.test_ws_consumer import connect
from tests.integration.ws_support import (
    close_code,
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    receive_until,
)

CLIENT_IDS = {name: str(uuid.uuid4()) for name in ("b1", "c1", "c2")}

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


def _make_bot(moderator: Any, *channels: Any, scope: tuple[Any, ...] = ()) -> tuple[Any, str]:
    """A bot that is a member of ``channels``, and a token of it limited to ``scope``."""
    with rls.acting_as_user(moderator):
        bot = integration_services.bot_create(actor=moderator, username="ws-bot")
        _, token = integration_services.bot_token_create(
            actor=moderator, bot=bot, channel_ids=[str(c.pk) for c in scope] or None
        )
    for channel in channels:
        MembershipFactory.create(channel=channel, user=bot)
    return bot, token


make_bot = database_sync_to_async(_make_bot)


def bot_protocols(token: str) -> list[str]:
    return ["chat.v1", f"bearer.{token}"]


async def connect_bot(token: str) -> tuple[Any, dict[str, Any]]:
    ws = communicator(protocols=bot_protocols(token))
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "chat.v1"
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


@pytest.fixture
def other_channel(db: None, alice: Any) -> Any:
    channel = ChannelFactory.create(name="random", created_by=alice)
    MembershipFactory.create(channel=channel, user=alice, role="owner")
    return channel


async def test_a_bot_connects_with_its_token_subscribes_sends_and_receives(
    alice: Any, moderator: Any, channel: Any
) -> None:
    bot, token = await make_bot(moderator, channel)
    ws, welcome = await connect_bot(token)
    assert welcome["user"]["id"] == str(bot.pk)
    assert welcome["user"]["is_bot"] is True
    assert [c["id"] for c in welcome["channels"]] == [str(channel.pk)]

    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    assert (await receive_type(ws, "subscribed"))["channel_id"] == str(channel.pk)

    await ws.send_json_to(
        {
            "type": "message.send",
            "channel_id": str(channel.pk),
            "content": "beep",
            "client_id": CLIENT_IDS["b1"],
        }
    )
    ack = await receive_type(ws, "ack")
    assert ack["client_id"] == CLIENT_IDS["b1"]
    created = await receive_type(ws, "message.created")
    assert created["message"]["content"] == "beep"
    assert created["message"]["author"]["is_bot"] is True

    # A member's message reaches the bot's socket.
    alice_ws = await connect(alice)
    await alice_ws.send_json_to(
        {"type": "message.send", "channel_id": str(channel.pk), "content": "hi bot"}
    )
    heard, _ = await receive_until(
        ws,
        lambda e: e["type"] == "message.created" and e["message"]["content"] == "hi bot",
    )
    assert heard["message"]["author"]["username"] == "alice"
    await ws.disconnect()
    await alice_ws.disconnect()


async def test_a_scoped_token_is_not_given_other_channels_and_cannot_act_there(
    alice: Any, moderator: Any, channel: Any, other_channel: Any
) -> None:
    _bot, token = await make_bot(moderator, channel, other_channel, scope=(channel,))
    message = await database_sync_to_async(
        lambda: services.message_create(user=alice, channel_id=other_channel.pk, content="x")[0]
    )()
    ws, welcome = await connect_bot(token)
    assert [c["id"] for c in welcome["channels"]] == [str(channel.pk)]

    other = str(other_channel.pk)
    frames = [
        {"type": "subscribe", "channel_id": other},
        {
            "type": "message.send",
            "channel_id": other,
            "content": "no",
            "client_id": CLIENT_IDS["c1"],
        },
        {"type": "command.run", "channel_id": other, "text": "/me waves"},
        {"type": "reaction.add", "message_id": str(message.pk), "emoji": "👍"},
        {"type": "reaction.remove", "message_id": str(message.pk), "emoji": "👍"},
        {"type": "typing", "channel_id": other},
    ]
    for frame in frames:
        await ws.send_json_to(frame)
        error = await receive_type(ws, "error")
        assert error["code"] == "not_found", (frame, error)
    # Nothing was written in the other channel.
    count = await database_sync_to_async(other_channel.messages.count)()
    assert count == 1
    await ws.send_json_to({"type": "ping", "channels": [other, str(channel.pk)]})
    pong = await receive_type(ws, "pong")
    assert set(pong["channels"]) == {str(channel.pk)}

    # Its own channel works.
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    assert (await receive_type(ws, "subscribed"))["channel_id"] == str(channel.pk)
    await ws.send_json_to(
        {
            "type": "message.send",
            "channel_id": str(channel.pk),
            "content": "ok",
            "client_id": CLIENT_IDS["c2"],
        }
    )
    assert (await receive_type(ws, "ack"))["client_id"] == CLIENT_IDS["c2"]

    # A message of the other channel, even one that mentions the bot, does not reach it.
    await database_sync_to_async(
        lambda: services.message_create(
            user=alice, channel_id=other_channel.pk, content="@ws-bot psst"
        )
    )()
    await database_sync_to_async(
        lambda: services.message_create(user=alice, channel_id=channel.pk, content="@ws-bot marker")
    )()
    mention, before = await receive_until(ws, lambda e: e["type"] == "mention")
    assert mention["message"]["content"] == "@ws-bot marker"
    assert all(e.get("channel_id") != other for e in before), before
    assert all("psst" not in e.get("message", {}).get("content", "") for e in before), before
    await ws.disconnect()


@pytest.mark.parametrize("how", ["forged", "revoked", "deactivated"])
async def test_forged_revoked_or_deactivated_tokens_are_refused_with_4401(
    moderator: Any, channel: Any, how: str
) -> None:
    bot, token = await make_bot(moderator, channel)
    if how == "forged":
        token = "csb_" + "x" * 43
    elif how == "revoked":
        await database_sync_to_async(
            lambda: BotToken.objects.filter(bot=bot).update(revoked_at=timezone.now())
        )()
    else:
        await database_sync_to_async(User.objects.filter(pk=bot.pk).update)(is_active=False)
    ws = communicator(protocols=bot_protocols(token))
    connected, _ = await ws.connect()
    assert connected
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_a_token_revoked_while_connected_closes_the_socket_within_a_heartbeat(
    moderator: Any, channel: Any
) -> None:
    bot, token = await make_bot(moderator, channel)
    with override_settings(HEARTBEAT_SECONDS=1):
        ws, _welcome = await connect_bot(token)
        row = await database_sync_to_async(BotToken.objects.get)(bot=bot)
        await database_sync_to_async(_revoke)(moderator, bot, row.pk)
        error = await receive_type(ws, "error", timeout=5)
        assert error["code"] == "unauthorized"
        assert "revoked" in error["detail"]
        assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


def _revoke(moderator: Any, bot: Any, token_id: Any) -> None:
    with rls.acting_as_user(moderator):
        integration_services.bot_token_revoke(actor=moderator, bot=bot, token_id=token_id)


def test_the_heartbeat_recheck_keeps_a_live_token_and_ends_a_revoked_one(
    moderator: Any, channel: Any
) -> None:
    """chat.keepalive.judge: one more query for the bot token sockets of a batch."""
    bot, _token = _make_bot(moderator, channel)
    row = BotToken.objects.get(bot=bot)

    def check(token_id: str) -> keepalive.AccessCheck:
        return keepalive.AccessCheck(
            user_id=bot.pk,
            session_key=None,
            subscribed=frozenset({str(channel.pk)}),
            member_of=frozenset({str(channel.pk)}),
            bot_token_id=token_id,
        )

    live, forged = keepalive.judge([check(str(row.pk)), check(str(uuid.uuid4()))])
    assert live.problem is None and live.user.pk == bot.pk
    assert forged.problem == ws_auth.PROBLEM_UNAUTHORIZED
    _revoke(moderator, bot, row.pk)
    (revoked,) = keepalive.judge([check(str(row.pk))])
    assert revoked.problem == ws_auth.PROBLEM_UNAUTHORIZED


async def test_a_scoped_token_does_not_follow_a_channel_its_bot_is_added_to(
    alice: Any, moderator: Any, channel: Any, other_channel: Any
) -> None:
    bot, token = await make_bot(moderator, channel, scope=(channel,))
    ws, _welcome = await connect_bot(token)
    await database_sync_to_async(services.channel_member_add)(
        actor=alice, channel_id=other_channel.pk, user=bot
    )
    # The user's own events keep their order: the mention comes after any membership event.
    await database_sync_to_async(
        lambda: services.message_create(user=alice, channel_id=channel.pk, content="@ws-bot hi")
    )()
    mention, before = await receive_until(ws, lambda e: e["type"] == "mention")
    assert mention["message"]["channel_id"] == str(channel.pk)
    assert not [e for e in before if e["type"] in ("membership", "subscribed")], before
    await ws.send_json_to({"type": "subscribe", "channel_id": str(other_channel.pk)})
    assert (await receive_type(ws, "error"))["code"] == "not_found"
    await ws.disconnect()
