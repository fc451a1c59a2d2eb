"""The process-local fan-out (chat/fanout.py) on the real Redis layer: one subscription per
process and channel, frames encoded once, followers that come and go."""

from __future__ import annotations

import asyncio
import logging
import struct
import uuid
from typing import Any

import pytest
import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat import events, fanout, realtime
from chatsite import ws_server
from tests.integration.ws_support import fresh_layer_per_loop  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.usefixtures("fresh_layer_per_loop")]

TIMEOUT = 5.0


class Follower:
    """Takes what the hub hands it, as ChatConsumer.live does."""

    def __init__(self, fail: bool = False) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.fail = fail

    def live(self, delivery: fanout.Delivery) -> int:
        if self.fail:
            raise RuntimeError("a follower with a bug")
        self.frames.put_nowait(delivery.frame(delivery.message["text"]))
        return 1


def event(channel_id: str, text: str, seq: int = 1) -> dict[str, Any]:
    return {"type": events.LAYER_EVENT_TYPE, "text": text, "channel_id": channel_id, "seq": seq}


async def publish(channel_id: str, message: dict[str, Any]) -> None:
    await get_channel_layer().group_send(events.channel_group(channel_id), message)


def group_channels(layer: Any, group: str) -> set[str]:
    """The layer channels of this process in a layer group (the pub/sub layer's table)."""
    return set(layer.groups.get(layer._get_group_channel_name(group), set()))


async def until_left(layer: Any, group: str) -> None:
    """Wait until this process's hub has left ``group`` on the layer."""
    async with asyncio.timeout(TIMEOUT):
        while group_channels(layer, group):
            await asyncio.sleep(0.02)


async def test_followers_of_a_channel_share_one_subscription_and_one_encoded_frame() -> None:
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    first, second = Follower(), Follower()
    await hub.join(channel_id, first)
    await hub.join(channel_id, second)
    assert group_channels(hub.layer, events.channel_group(channel_id)) == {hub.channel_name}
    assert hub.followers(channel_id) == 2

    await publish(channel_id, event(channel_id, '{"type":"message.created","seq":1}'))
    got = [await asyncio.wait_for(f.frames.get(), TIMEOUT) for f in (first, second)]
    assert got[0] is got[1]  # built once for both
    assert got[0] == ws_server.text_frame(b'{"type":"message.created","seq":1}')


async def test_a_channel_without_followers_leaves_the_layer_after_the_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "LINGER_SECONDS", 0.05)
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    follower = Follower()
    await hub.join(channel_id, follower)
    hub.leave(channel_id, follower)
    hub.leave(channel_id, follower)  # twice is harmless
    hub.leave(str(uuid.uuid4()), follower)  # a channel never followed too
    await until_left(hub.layer, events.channel_group(channel_id))
    assert channel_id not in hub.groups

    # Following it again subscribes again, and events flow.
    again = Follower()
    await hub.join(channel_id, again)
    await publish(channel_id, event(channel_id, "{}"))
    assert await asyncio.wait_for(again.frames.get(), TIMEOUT) == ws_server.text_frame(b"{}")
    assert follower.frames.empty()


async def test_a_follower_back_within_the_linger_keeps_the_subscription(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "LINGER_SECONDS", 0.05)
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    follower = Follower()
    await hub.join(channel_id, follower)
    hub.leave(channel_id, follower)
    await hub.join(channel_id, follower)
    await asyncio.sleep(0.2)
    assert group_channels(hub.layer, events.channel_group(channel_id)) == {hub.channel_name}
    await publish(channel_id, event(channel_id, "{}"))
    assert await asyncio.wait_for(follower.frames.get(), TIMEOUT) == ws_server.text_frame(b"{}")


async def test_a_failed_subscribe_raises_to_every_waiting_follower_and_the_next_join_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    real_group_add = hub.layer.group_add

    async def redis_away(*args: Any) -> None:
        await asyncio.sleep(0.01)
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(hub.layer, "group_add", redis_away)
    results = await asyncio.gather(
        hub.join(channel_id, Follower()), hub.join(channel_id, Follower()), return_exceptions=True
    )
    assert all(isinstance(r, redis.exceptions.ConnectionError) for r in results), results
    assert channel_id not in hub.groups

    monkeypatch.setattr(hub.layer, "group_add", real_group_add)
    follower = Follower()
    await hub.join(channel_id, follower)
    await publish(channel_id, event(channel_id, "{}"))
    assert await asyncio.wait_for(follower.frames.get(), TIMEOUT) == ws_server.text_frame(b"{}")


async def test_events_of_no_local_channel_and_a_failing_follower_harm_no_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    broken, fine = Follower(fail=True), Follower()
    await hub.join(channel_id, broken)
    await hub.join(channel_id, fine)
    assert hub.deliver({"type": events.LAYER_EVENT_TYPE, "text": "{}"}) == 0  # names none
    assert hub.deliver(event(str(uuid.uuid4()), "{}")) == 0  # nobody here follows it
    with caplog.at_level(logging.ERROR, logger="chat.fanout"):
        assert hub.deliver(event(channel_id, "{}")) == 1
    assert "fanout.delivery_failed" in caplog.text
    assert fine.frames.qsize() == 1


async def test_a_failed_read_of_the_hub_channel_is_logged_and_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fanout, "RETRY_SECONDS", 0.01)
    hub = realtime.current().hub
    channel_id = str(uuid.uuid4())
    real_receive = hub.layer.receive
    failures = [redis.exceptions.ConnectionError("away"), ValueError("a bug")]

    async def receive_after_failures(channel: str) -> Any:
        if failures:
            raise failures.pop(0)
        return await real_receive(channel)

    monkeypatch.setattr(hub.layer, "receive", receive_after_failures)
    follower = Follower()
    with caplog.at_level(logging.WARNING, logger="chat.fanout"):
        await hub.join(channel_id, follower)
        await publish(channel_id, event(channel_id, "{}"))
        assert await asyncio.wait_for(follower.frames.get(), TIMEOUT) == ws_server.text_frame(b"{}")
    assert caplog.text.count("fanout.receive_failed") == 2


async def test_an_expiring_layer_gets_the_hub_groups_again_each_heartbeat() -> None:
    layer = InMemoryChannelLayer(group_expiry=60)
    hub = fanout.Hub(layer, asyncio.get_running_loop())
    channel_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    await hub.refresh()  # no channel yet: nothing to do
    await hub.join(channel_id, Follower())
    await hub.join_user(user_id, Follower())
    groups = [events.channel_group(channel_id), events.user_group(user_id)]
    for group in groups:
        layer.groups[group][hub.channel_name] = 0.0  # about to expire
    await hub.refresh()
    assert all(layer.groups[group][hub.channel_name] > 0.0 for group in groups)
    await hub.close()
    assert hub.reader is None and not hub.groups and not hub.users


async def test_a_users_events_reach_that_users_followers_only() -> None:
    hub = realtime.current().hub
    user_id, other_id, channel_id = (str(uuid.uuid4()) for _ in range(3))
    mine, theirs, in_channel = Follower(), Follower(), Follower()
    await hub.join_user(user_id, mine)
    await hub.join_user(other_id, theirs)
    await hub.join(channel_id, in_channel)
    message = {"type": events.LAYER_EVENT_TYPE, "text": '{"type":"read"}', "to_user": user_id}
    await get_channel_layer().group_send(events.user_group(user_id), message)
    frame = await asyncio.wait_for(mine.frames.get(), TIMEOUT)
    assert frame == ws_server.text_frame(b'{"type":"read"}')
    # A user's event that names a channel (membership) still goes by its user, and one of
    # an older sender that names no user goes to nobody, not to the channel's followers.
    membership = {"type": "chat.membership", "channel_id": channel_id, "text": "{}"}
    assert hub.deliver({**membership, "to_user": user_id}) == 1
    assert hub.deliver(membership) == 0
    assert theirs.frames.empty() and in_channel.frames.empty() and mine.frames.qsize() == 1


async def test_a_user_without_local_sockets_leaves_the_layer_after_the_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "LINGER_SECONDS", 0.05)
    hub = realtime.current().hub
    user_id = str(uuid.uuid4())
    follower = Follower()
    await hub.join_user(user_id, follower)
    group = events.user_group(user_id)
    assert group_channels(hub.layer, group) == {hub.channel_name}
    hub.leave_user(user_id, follower)
    await until_left(hub.layer, group)
    assert user_id not in hub.users


def test_text_frames_carry_the_length_in_the_three_sizes_of_rfc_6455() -> None:
    assert ws_server.text_frame(b"x" * 125)[:2] == bytes((0x81, 125))
    assert ws_server.text_frame(b"x" * 126)[:4] == struct.pack("!BBH", 0x81, 126, 126)
    long = ws_server.text_frame(b"x" * 70_000)
    assert long[:10] == struct.pack("!BBQ", 0x81, 127, 70_000) and len(long) == 70_010
