"""Conversations on one socket (the consumer through Channels' WebsocketCommunicator, real
Redis layer): direct messages arriving, edits, read markers, and the heartbeat's re-check
telling the client about a membership that went without an event."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from chat import services
from chat.models import Channel, Membership
from chatsite import rls
from tests.factories import MembershipFactory
from tests.integration.test_ws_consumer import connect, post
from tests.integration.ws_support import (
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    receive_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


@database_sync_to_async
def open_dm(user: Any, *others: Any) -> Channel:
    with rls.acting_as_user(user):
        channel, _ = services.dm_open(user=user, user_ids=[other.pk for other in others])
    return channel


async def test_a_dm_opened_by_someone_else_arrives_and_its_messages_follow(
    alice: Any, bob: Any
) -> None:
    ws = await connect(bob)
    dm = await open_dm(alice, bob)
    joined = await receive_type(ws, "membership")
    assert joined["joined"] is True and joined["channel"]["id"] == str(dm.pk)
    assert joined["channel"]["title"] == "Alice" and joined["channel"]["kind"] == "dm"
    assert [m["username"] for m in joined["channel"]["members"]] == ["alice", "bob"]
    assert (await receive_type(ws, "subscribed"))["channel_id"] == str(dm.pk)
    await post(alice, dm, "hello bob")
    assert (await receive_type(ws, "message.created"))["message"]["content"] == "hello bob"
    await ws.disconnect()


async def test_the_creator_of_a_dm_hears_of_it_too_and_a_second_open_sends_nothing(
    alice: Any, bob: Any
) -> None:
    ws = await connect(alice)
    dm = await open_dm(alice, bob)
    joined = await receive_type(ws, "membership")
    assert joined["channel"]["id"] == str(dm.pk) and joined["channel"]["title"] == "Bob"
    await receive_type(ws, "subscribed")
    assert (await open_dm(bob, alice)).pk == dm.pk
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert [e["type"] for e in between if e["type"] == "membership"] == []
    await ws.disconnect()


async def test_a_moderator_cannot_subscribe_to_a_dm_they_are_not_in(
    alice: Any, bob: Any, moderator: Any
) -> None:
    dm = await open_dm(alice, bob)
    ws = await connect(moderator)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(dm.pk)})
    error = await receive_type(ws, "error")
    assert error["code"] == "not_found"
    await ws.send_json_to({"type": "ping", "channels": [str(dm.pk)]})
    assert (await receive_type(ws, "pong"))["channels"] == {}
    await ws.disconnect()


async def test_channel_edits_and_read_markers_reach_the_socket(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    await post(alice, channel, "one")
    ws = await connect(bob)

    def edit() -> None:
        with rls.acting_as_user(alice):
            services.channel_update(actor=alice, channel_id=channel.pk, topic="News")
            # Nothing changes: no second event.
            services.channel_update(actor=alice, channel_id=channel.pk, topic="News")

    await database_sync_to_async(edit)()
    updated = await receive_type(ws, "channel.updated")
    assert updated["channel"]["topic"] == "News" and "unread_count" not in updated["channel"]

    def read() -> None:
        with rls.acting_as_user(bob):
            services.channel_mark_read(user=bob, channel_id=channel.pk, seq=1)

    await database_sync_to_async(read)()
    assert await receive_type(ws, "read") == {
        "type": "read",
        "channel_id": str(channel.pk),
        "seq": 1,
    }
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert [e for e in between if e["type"] == "channel.updated"] == []
    await ws.disconnect()


@override_settings(HEARTBEAT_SECONDS=1)
async def test_a_membership_gone_without_an_event_is_told_at_the_next_heartbeat(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=private_channel, user=bob)
    ws = await connect(bob)
    await database_sync_to_async(
        lambda: Membership.objects.filter(channel=private_channel, user=bob).delete()
    )()
    left, before = await receive_until(ws, lambda e: e["type"] == "membership", timeout=4)
    assert left["joined"] is False and left["channel"]["id"] == str(private_channel.pk)
    assert left["channel"]["is_member"] is False and left["channel"]["title"] == "Secret"
    assert "unsubscribed" in [e["type"] for e in before]
    await ws.disconnect()


@override_settings(HEARTBEAT_SECONDS=1)
async def test_a_deleted_channel_is_dropped_without_a_membership_event(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=private_channel, user=bob)
    ws = await connect(bob)
    await database_sync_to_async(lambda: Channel.objects.filter(pk=private_channel.pk).delete())()
    await receive_type(ws, "unsubscribed", timeout=4)
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert [e for e in between if e["type"] == "membership"] == []
    await ws.disconnect()
