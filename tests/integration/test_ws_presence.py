"""Presence and the typing throttle (chat/presence.py), in Redis and in-process."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from django.test import override_settings

from chat import presence
from tests.integration.ws_support import communicator as ws_communicator
from tests.integration.ws_support import (
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    token_protocols,
)

pytestmark = pytest.mark.usefixtures("fresh_layer_per_loop")


@override_settings(REDIS_URL="")
async def test_in_process_presence_counts_connections() -> None:
    user_id = uuid.uuid4()
    assert await presence.connection_opened(user_id=user_id, connection="tab-1") is True
    assert await presence.connection_opened(user_id=user_id, connection="tab-2") is False
    await presence.connection_refreshed(user_id=user_id, connection="tab-2")
    assert await presence.connection_closed(user_id=user_id, connection="tab-1") is False
    assert await presence.connection_closed(user_id=user_id, connection="tab-2") is True


@override_settings(REDIS_URL="")
async def test_in_process_typing_is_throttled_per_user_and_channel() -> None:
    user_id, channel_id = uuid.uuid4(), uuid.uuid4()
    assert await presence.typing_allowed(user_id=user_id, channel_id=channel_id)
    assert not await presence.typing_allowed(user_id=user_id, channel_id=channel_id)
    assert await presence.typing_allowed(user_id=uuid.uuid4(), channel_id=channel_id)


async def test_redis_presence_forgets_connections_that_stopped_refreshing() -> None:
    user_id = uuid.uuid4()
    with override_settings(HEARTBEAT_SECONDS=0):  # entries expire at once
        assert await presence.connection_opened(user_id=user_id, connection="crashed")
    assert await presence.connection_opened(user_id=user_id, connection="fresh") is True
    await presence.connection_refreshed(user_id=user_id, connection="fresh")
    assert await presence.connection_closed(user_id=user_id, connection="fresh") is True


@pytest.mark.django_db(transaction=True)
async def test_open_connection_refreshes_its_presence_every_heartbeat(alice: Any) -> None:
    key = f"{presence._prefix()}:presence:{alice.pk}"
    with override_settings(HEARTBEAT_SECONDS=0.2):
        ws = ws_communicator(protocols=token_protocols(alice))
        await ws.connect()
        assert (await ws.receive_json_from(timeout=5))["heartbeat_s"] == 0.2
        client = presence._client()
        entries = await client.zrange(key, 0, -1, withscores=True)
        assert len(entries) == 1
        connection, first = entries[0][0], float(entries[0][1])
        async with asyncio.timeout(5):  # the keep-alive moves the expiry forward
            while (await client.zscore(key, connection) or 0.0) <= first:
                await asyncio.sleep(0.05)
        await ws.disconnect()
    assert await client.zcard(key) == 0


@pytest.mark.django_db(transaction=True)
async def test_one_keeper_task_refreshes_every_connection_and_stops_with_the_last(
    alice: Any, bob: Any
) -> None:
    from chat import realtime

    keys = [f"{presence._prefix()}:presence:{user.pk}" for user in (alice, bob)]
    with override_settings(HEARTBEAT_SECONDS=0.2):
        sockets = [ws_communicator(protocols=token_protocols(user)) for user in (alice, bob)]
        for ws in sockets:
            await ws.connect()
            assert (await ws.receive_json_from(timeout=5))["type"] == "welcome"
        keeper = realtime.current().keeper
        async with asyncio.timeout(5):  # each joins right after its welcome and snapshot
            while len(keeper.connections) < 2:
                await asyncio.sleep(0.01)
        task = keeper.task
        assert task is not None and not task.done()
        client = presence._client()
        firsts = [float((await client.zrange(key, 0, -1, withscores=True))[0][1]) for key in keys]
        async with asyncio.timeout(5):
            for key, first in zip(keys, firsts, strict=True):
                while float((await client.zrange(key, 0, -1, withscores=True))[0][1]) <= first:
                    await asyncio.sleep(0.05)
        for ws in sockets:
            await ws.disconnect()
    assert task.cancelled() or task.done()
    assert keeper.task is None


async def test_presence_changes_of_one_moment_share_one_layer_message() -> None:
    from channels.layers import get_channel_layer

    from chat import events

    layer = get_channel_layer()
    channel_id = uuid.uuid4()
    listener = await layer.new_channel()
    await layer.group_add(events.channel_group(channel_id), listener)
    users = [uuid.uuid4() for _ in range(3)]
    for user_id in users:
        await events.send_presence(user_id=user_id, status="online", channel_ids=[channel_id])
    await events.send_presence(user_id=users[0], status="offline", channel_ids=[channel_id])
    message = await asyncio.wait_for(layer.receive(listener), timeout=5)
    assert message["type"] == "chat.presence"
    changes = [(change["user_id"], change["status"]) for change in message["changes"]]
    assert changes == [(str(user), "online") for user in users] + [(str(users[0]), "offline")]
    await layer.group_discard(events.channel_group(channel_id), listener)
