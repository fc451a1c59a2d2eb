"""The /ws/chat/ consumer through Channels' WebsocketCommunicator, on the real Redis layer.

The consumer reads and writes PostgreSQL from worker threads, so the data it should see is
committed (``transactional_db``).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import override_settings

from chat import consumers, events, realtime, services
from chatsite import ratelimit
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.ws_support import (
    SITE_HOST,
    SITE_ORIGIN,
    close_code,
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    receive_until,
    session_cookie,
    token_protocols,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


async def connect(user: Any, **kwargs: Any) -> Any:
    ws = communicator(protocols=token_protocols(user), **kwargs)
    connected, subprotocol = await ws.connect()
    assert connected
    assert subprotocol == "chat.v1"
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome", welcome
    return ws


@database_sync_to_async
def post(user: Any, channel: Any, content: str = "hello") -> Any:
    message, _ = services.message_create(user=user, channel_id=channel.pk, content=content)
    return message


@database_sync_to_async
def edit(user: Any, message: Any, content: str) -> Any:
    return services.message_edit(user=user, message_id=message.pk, content=content)


@database_sync_to_async
def delete(user: Any, message: Any) -> Any:
    return services.message_delete(user=user, message_id=message.pk)


# -- authentication -----------------------------------------------------------------------


async def test_token_connection_gets_welcome_with_member_channels(alice: Any, channel: Any) -> None:
    await post(alice, channel)
    ws = communicator(protocols=token_protocols(alice))
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "chat.v1"
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome"
    assert welcome["user"] == {
        "id": str(alice.pk),
        "username": "alice",
        "display_name": "Alice",
        "is_bot": False,
        "role": "member",
    }
    assert welcome["channels"] == [
        {"id": str(channel.pk), "name": "general", "kind": "channel", "last_seq": 1}
    ]
    assert welcome["heartbeat_s"] == 30
    await ws.disconnect()


@pytest.mark.parametrize(
    "protocols",
    [
        None,
        ["chat.v1"],
        ["chat.v1", "bearer.not-a-jwt"],
    ],
)
async def test_missing_or_invalid_token_gets_unauthorized_and_4401(
    alice: Any, protocols: list[str] | None
) -> None:
    ws = communicator(protocols=protocols)
    connected, _ = await ws.connect()
    assert connected
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_expired_token_gets_4401(alice: Any) -> None:
    ws = communicator(protocols=token_protocols(alice, lifetime=timedelta(seconds=-5)))
    await ws.connect()
    assert (await ws.receive_json_from(timeout=5))["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_token_expiring_during_session_closes_with_4401(alice: Any) -> None:
    ws = communicator(protocols=token_protocols(alice, lifetime=timedelta(seconds=2)))
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=5))["type"] == "welcome"
    error = await receive_type(ws, "error")
    assert error["code"] == "unauthorized" and error["ref"] == "token"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_inactive_user_is_closed_with_4403(alice: Any) -> None:
    alice.is_active = False
    await database_sync_to_async(alice.save)()
    ws = communicator(protocols=token_protocols(alice))
    await ws.connect()
    assert (await ws.receive_json_from(timeout=5))["code"] == "forbidden"
    assert await close_code(ws) == consumers.CLOSE_FORBIDDEN


async def test_session_cookie_from_the_site_origin_is_accepted(alice: Any, channel: Any) -> None:
    cookie = await database_sync_to_async(session_cookie)(alice)
    ws = communicator(headers=[SITE_HOST, SITE_ORIGIN, (b"cookie", cookie)])
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol is None
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome" and welcome["user"]["username"] == "alice"
    await ws.disconnect()


async def test_session_cookie_of_a_deactivated_user_gets_4403(alice: Any) -> None:
    cookie = await database_sync_to_async(session_cookie)(alice)
    alice.is_active = False
    await database_sync_to_async(alice.save)()
    ws = communicator(headers=[SITE_HOST, SITE_ORIGIN, (b"cookie", cookie)])
    await ws.connect()
    assert await close_code(ws) == consumers.CLOSE_FORBIDDEN


async def test_session_cookie_without_origin_is_not_used(alice: Any) -> None:
    cookie = await database_sync_to_async(session_cookie)(alice)
    ws = communicator(headers=[(b"cookie", cookie)])
    await ws.connect()
    assert (await ws.receive_json_from(timeout=5))["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
async def test_cors_origin_may_use_a_token_but_not_the_cookie(alice: Any) -> None:
    origin = (b"origin", b"https://app.example.com")
    cookie = await database_sync_to_async(session_cookie)(alice)
    with_cookie = communicator(headers=[origin, (b"cookie", cookie)])
    await with_cookie.connect()
    assert await close_code(with_cookie) == consumers.CLOSE_UNAUTHORIZED

    ws = await connect(alice, headers=[origin])
    await ws.disconnect()


async def test_foreign_origin_is_refused_at_the_handshake(alice: Any) -> None:
    cookie = await database_sync_to_async(session_cookie)(alice)
    ws = communicator(
        protocols=token_protocols(alice),
        headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


# -- protocol -----------------------------------------------------------------------------


async def test_ping_gets_pong_and_bad_frames_get_errors_without_closing(alice: Any) -> None:
    ws = await connect(alice)
    await ws.send_to(text_data="{not json")
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.send_json_to([1, 2])
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.send_json_to({"type": "shout"})
    error = await ws.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "code": "unknown_type",
        "detail": "Unknown type 'shout'.",
        "ref": "shout",
    }
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await ws.receive_json_from(timeout=5))["code"] == "bad_request"
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
    await ws.disconnect()


async def test_message_send_acks_sender_and_reaches_other_subscribers(
    alice: Any, bob: Any, channel: Any
) -> None:
    sender = await connect(alice)
    listener = await connect(bob)
    await listener.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    subscribed = await receive_type(listener, "subscribed")
    assert subscribed == {"type": "subscribed", "channel_id": str(channel.pk), "last_seq": 0}

    client_id = str(uuid.uuid4())
    await sender.send_json_to(
        {
            "type": "message.send",
            "channel_id": str(channel.pk),
            "content": "hi bob",
            "client_id": client_id,
        }
    )
    ack = await receive_type(sender, "ack")
    assert ack["client_id"] == client_id
    assert ack["message"]["content"] == "hi bob" and ack["message"]["seq"] == 1
    created = await receive_type(listener, "message.created")
    assert created["seq"] == 1
    assert created["message"] == ack["message"]
    await sender.disconnect()
    await listener.disconnect()


async def test_message_send_validation_error_names_the_client_id(alice: Any, channel: Any) -> None:
    ws = await connect(alice)
    client_id = str(uuid.uuid4())
    frame = {"type": "message.send", "channel_id": str(channel.pk), "client_id": client_id}
    await ws.send_json_to({**frame, "content": "   "})
    error = await receive_type(ws, "error")
    assert error["code"] == "validation_error" and error["ref"] == client_id
    assert "content" in error["fields"]
    await ws.send_json_to({**frame, "channel_id": "nope", "content": "x"})
    assert (await receive_type(ws, "error"))["fields"].keys() == {"channel_id"}
    await ws.send_json_to({**frame, "channel_id": str(uuid.uuid4()), "content": "x"})
    assert (await receive_type(ws, "error"))["code"] == "not_found"
    await ws.send_json_to({"type": "ping"})
    assert (await receive_type(ws, "pong")) == {"type": "pong"}
    await ws.disconnect()


async def test_subscribe_with_since_seq_replays_changes_in_order(alice: Any, bob: Any) -> None:
    channel = await database_sync_to_async(ChannelFactory.create)(name="replay")
    first = await post(alice, channel, "one")
    second = await post(alice, channel, "two")
    await post(alice, channel, "three")
    await edit(alice, first, "one, edited")
    await delete(alice, second)

    ws = await connect(bob)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 1})
    subscribed, replayed = await receive_until(ws, lambda e: e["type"] == "subscribed")
    assert [(e["type"], e["seq"]) for e in replayed] == [
        ("message.created", 3),
        ("message.updated", 4),
        ("message.deleted", 5),
    ]
    assert replayed[1]["message"]["content"] == "one, edited"
    assert replayed[2]["id"] == str(second.pk)
    assert subscribed["last_seq"] == 5
    await ws.disconnect()


async def test_subscribe_rejects_bad_since_seq(alice: Any, channel: Any) -> None:
    ws = await connect(alice)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": -1})
    error = await receive_type(ws, "error")
    assert error["code"] == "validation_error" and error["ref"] == "subscribe"
    await ws.disconnect()


async def test_non_member_cannot_subscribe_to_or_hear_a_private_channel(
    alice: Any, bob: Any, channel: Any, private_channel: Any
) -> None:
    ws = await connect(bob)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(private_channel.pk)})
    error = await receive_type(ws, "error")
    assert error["code"] == "not_found" and error["ref"] == "subscribe"
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    await receive_type(ws, "subscribed")

    await post(alice, private_channel, "secret")
    await post(alice, channel, "public")
    # Both events leave this process in this order: the private one would arrive first.
    event, skipped = await receive_until(ws, lambda e: e["type"] == "message.created")
    assert event["message"]["content"] == "public"
    assert all(e["type"] != "message.created" for e in skipped)
    await ws.disconnect()


async def test_unsubscribe_stops_events(alice: Any, bob: Any, channel: Any) -> None:
    other = await database_sync_to_async(ChannelFactory.create)(name="other")
    ws = await connect(bob)
    for target in (channel, other):
        await ws.send_json_to({"type": "subscribe", "channel_id": str(target.pk)})
        await receive_type(ws, "subscribed")
    await ws.send_json_to({"type": "unsubscribe", "channel_id": str(channel.pk)})
    assert await receive_type(ws, "unsubscribed") == {
        "type": "unsubscribed",
        "channel_id": str(channel.pk),
        "last_seq": 0,
    }
    await post(alice, channel, "unheard")
    await post(alice, other, "heard")
    event = await receive_type(ws, "message.created")
    assert event["message"]["content"] == "heard"
    await ws.disconnect()


async def test_typing_reaches_others_once_per_interval_and_not_the_typist(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    typist = await connect(alice)
    listener = await connect(bob)
    frame = {"type": "typing", "channel_id": str(channel.pk)}
    await typist.send_json_to(frame)
    await typist.send_json_to(frame)  # within 3 s: dropped
    await typist.send_json_to({"type": "ping"})
    await receive_type(typist, "pong")
    await post(alice, channel, "done typing")

    typing, _ = await receive_until(listener, lambda e: e["type"] == "typing")
    assert typing == {
        "type": "typing",
        "channel_id": str(channel.pk),
        "user": {
            "id": str(alice.pk),
            "username": "alice",
            "display_name": "Alice",
            "is_bot": False,
        },
    }
    _, between = await receive_until(listener, lambda e: e["type"] == "message.created")
    assert [e for e in between if e["type"] == "typing"] == []
    _, own = await receive_until(typist, lambda e: e["type"] == "message.created")
    assert [e for e in own if e["type"] == "typing"] == []
    await typist.disconnect()
    await listener.disconnect()


async def test_typing_in_an_unsubscribed_channel_is_an_error(alice: Any) -> None:
    ws = await connect(alice)
    await ws.send_json_to({"type": "typing", "channel_id": str(uuid.uuid4())})
    assert (await receive_type(ws, "error"))["code"] == "not_found"
    await ws.disconnect()


async def test_presence_counts_connections_across_tabs(alice: Any, bob: Any, channel: Any) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    watcher = await connect(bob)
    first_tab = await connect(alice)
    online = await receive_type(watcher, "presence")
    assert online == {"type": "presence", "user_id": str(alice.pk), "status": "online"}
    second_tab = await connect(alice)
    await first_tab.disconnect()
    await post(bob, channel, "marker")
    _, between = await receive_until(watcher, lambda e: e["type"] == "message.created")
    assert [e for e in between if e["type"] == "presence"] == []

    await second_tab.disconnect()
    offline = await receive_type(watcher, "presence")
    assert offline == {"type": "presence", "user_id": str(alice.pk), "status": "offline"}
    await watcher.disconnect()


async def test_connecting_client_hears_who_is_already_online(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    stranger = await database_sync_to_async(UserFactory.create)()
    bob_ws = await connect(bob)
    stranger_ws = await connect(stranger)
    alice_ws = await connect(alice)
    snapshot = await receive_type(alice_ws, "presence")
    assert snapshot == {"type": "presence", "user_id": str(bob.pk), "status": "online"}
    # Nobody else shares a channel with alice: the next frame is the pong, not more presence.
    await alice_ws.send_json_to({"type": "ping"})
    _, between = await receive_until(alice_ws, lambda e: e["type"] == "pong")
    assert [e for e in between if e["type"] == "presence"] == []
    for ws in (alice_ws, bob_ws, stranger_ws):
        await ws.disconnect()


async def test_membership_changes_subscribe_and_unsubscribe_live(
    alice: Any, bob: Any, channel: Any
) -> None:
    ws = await connect(bob)
    await database_sync_to_async(services.channel_join)(user=bob, channel_id=channel.pk)
    subscribed = await receive_type(ws, "subscribed")
    assert subscribed["channel_id"] == str(channel.pk)
    await post(alice, channel, "welcome bob")
    assert (await receive_type(ws, "message.created"))["message"]["content"] == "welcome bob"

    await database_sync_to_async(services.channel_leave)(user=bob, channel_id=channel.pk)
    assert (await receive_type(ws, "unsubscribed"))["channel_id"] == str(channel.pk)
    await ws.disconnect()


async def test_sockets_have_no_layer_channel_of_their_own(alice: Any, bob: Any) -> None:
    """The process's hub brings every socket its events: one layer channel per process,
    however many sockets it serves (docs/architecture.md, "Delivery of live events")."""
    sockets = [await connect(user) for user in (alice, alice, bob)]
    current = realtime.current()
    assert set(current.layer.channels) == {current.hub.channel_name}
    assert len(current.hub.users[str(alice.pk)].followers) == 2
    for ws in sockets:
        await ws.disconnect()
    assert not current.hub.users[str(alice.pk)].followers  # the group itself lingers a while


async def test_deactivation_event_closes_with_4403(bob: Any) -> None:
    ws = await connect(bob)

    def deactivate() -> None:
        with transaction.atomic():
            events.notify_user_deactivated(user_id=bob.pk)

    await database_sync_to_async(deactivate)()
    assert (await receive_type(ws, "error"))["code"] == "forbidden"
    assert await close_code(ws) == consumers.CLOSE_FORBIDDEN


async def test_dropped_event_is_recovered_by_since_seq(
    alice: Any, bob: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await connect(bob)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    await receive_type(ws, "subscribed")
    await post(alice, channel, "one")
    assert (await receive_type(ws, "message.created"))["seq"] == 1

    send_now = events._send_now
    dropped: list[dict[str, Any]] = []

    def drop_first(group: str, message: dict[str, Any]) -> None:
        if not dropped:
            dropped.append(message)
            return
        send_now(group, message)

    monkeypatch.setattr(events, "_send_now", drop_first)
    await post(alice, channel, "two (dropped)")
    await post(alice, channel, "three")
    third = await receive_type(ws, "message.created")
    assert third["seq"] == 3 and dropped  # a gap: 2 never arrived

    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 1})
    subscribed, replayed = await receive_until(ws, lambda e: e["type"] == "subscribed")
    assert [(e["seq"], e["message"]["content"]) for e in replayed] == [
        (2, "two (dropped)"),
        (3, "three"),
    ]
    assert subscribed["last_seq"] == 3
    await ws.disconnect()


async def test_a_late_event_from_before_the_connect_waits_for_the_replay(
    alice: Any, bob: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change committed while the client was away, whose live event is still on its way
    when the client is back (the process follows the channel for an earlier socket): it
    comes once, in the replay, not before it."""
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    await post(alice, channel, "seen")
    send_now = events._send_now
    late: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send_now", lambda group, message: late.append((group, message)))
    await post(alice, channel, "missed 1")
    await post(alice, channel, "missed 2")
    monkeypatch.setattr(events, "_send_now", send_now)
    assert len(late) == 2

    ws = await connect(bob)  # follows the channel: the welcome says last_seq 3
    for group, message in late:
        send_now(group, message)
    await post(alice, channel, "after")  # behind the late ones on the layer
    first = await receive_type(ws, "message.created")
    assert (first["seq"], first["message"]["content"]) == (4, "after")

    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 1})
    subscribed, replayed = await receive_until(ws, lambda e: e["type"] == "subscribed")
    assert [(e["seq"], e["message"]["content"]) for e in replayed] == [
        (2, "missed 1"),
        (3, "missed 2"),
        (4, "after"),
    ]
    assert subscribed["last_seq"] == 4
    await ws.disconnect()


# -- limits -------------------------------------------------------------------------------


async def test_frame_over_16_kib_closes_with_1009(alice: Any) -> None:
    ws = await connect(alice)
    await ws.send_to(text_data="x" * (16 * 1024 + 1))
    assert await close_code(ws) == consumers.CLOSE_MESSAGE_TOO_BIG


async def test_send_flood_gets_rate_limited_then_4429(
    alice: Any, channel: Any, settings: Any
) -> None:
    settings.CHAT_MESSAGE_RATE = "5/min"
    ws = await connect(alice)
    for number in range(60):
        await ws.send_json_to(
            {"type": "message.send", "channel_id": str(channel.pk), "content": f"m{number}"}
        )
    codes = []
    while True:
        output = await ws.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            await ws.disconnect()
            break
        event = json.loads(output["text"])
        if event["type"] == "error":
            codes.append(event["code"])
    assert output.get("code") == consumers.CLOSE_FLOODED
    assert codes and set(codes) == {"rate_limited"}


async def test_typing_flood_is_rate_limited(alice: Any, channel: Any) -> None:
    ws = await connect(alice)
    for _ in range(8):
        await ws.send_json_to({"type": "typing", "channel_id": str(channel.pk)})
    error = await receive_type(ws, "error")
    assert error["code"] == "rate_limited" and error["ref"] == "typing"
    await ws.disconnect()


def test_token_bucket_refills_over_time() -> None:
    bucket = consumers.TokenBucket(capacity=2, per_second=1000)
    assert bucket.take() and bucket.take()
    bucket.updated -= 1  # a second later
    assert bucket.take()


def test_rate_per_second_reads_drf_rates() -> None:
    assert ratelimit.per_second("120/min") == 2
    assert ratelimit.per_second("10/s") == 10
    assert ratelimit.per_second("3600/hour") == 1


async def test_members_of_many_channels_are_subscribed_to_all(alice: Any) -> None:
    channels = await database_sync_to_async(lambda: [ChannelFactory.create() for _ in range(3)])()
    for each in channels:
        await database_sync_to_async(MembershipFactory.create)(channel=each, user=alice)
    ws = communicator(protocols=token_protocols(alice))
    await ws.connect()
    welcome = await ws.receive_json_from(timeout=5)
    assert {c["id"] for c in welcome["channels"]} == {str(c.pk) for c in channels}
    await post(alice, channels[2], "to the last one")
    event = await receive_type(ws, "message.created")
    assert event["message"]["channel_id"] == str(channels[2].pk)
    await ws.disconnect()


async def test_send_without_a_visible_character_is_a_validation_error(
    alice: Any, channel: Any
) -> None:
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "message.send", "channel_id": str(channel.pk), "content": "\u200b\u2060"}
    )
    error = await receive_type(ws, "error")
    assert error["code"] == "validation_error" and "content" in error["fields"]
    await ws.send_json_to(
        {"type": "message.send", "channel_id": str(channel.pk), "content": "\u202eok\u202c"}
    )
    ack = await receive_type(ws, "ack")
    assert ack["message"]["content"] == "ok"
    await ws.disconnect()


# -- live events out of seq order -----------------------------------------------------------


@database_sync_to_async
def post_quietly(user: Any, channel: Any, count: int) -> list[Any]:
    """Messages stored with their seqs but not announced: the test hands their events over."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "notify_message", lambda message, kind: None)
        return [
            services.message_create(user=user, channel_id=channel.pk, content=f"quiet {n}")[0]
            for n in range(count)
        ]


async def hand_over(message: Any) -> None:
    from channels.layers import get_channel_layer

    event = events.layer_message(
        events.message_event(message, "message.created"),
        channel_id=str(message.channel_id),
        seq=message.change_seq,
    )
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(events.channel_group(message.channel_id), event)


async def test_live_events_that_arrive_out_of_seq_order_reach_the_client_in_order(
    alice: Any, channel: Any
) -> None:
    ws = await connect(alice)
    first, second, third = await post_quietly(alice, channel, 3)
    for message in (third, first, second):  # as racing commits can hand them over
        await hand_over(message)
    seen = [(await receive_type(ws, "message.created"))["seq"] for _ in range(3)]
    assert seen == [1, 2, 3]
    await ws.disconnect()


async def test_an_event_whose_predecessor_never_comes_goes_after_the_wait(
    alice: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers.consumer, "REORDER_WAIT_SECONDS", 0.2)
    ws = await connect(alice)
    _lost, second = await post_quietly(alice, channel, 2)
    await hand_over(second)  # seq 1 was dropped on the way
    assert await ws.receive_nothing(timeout=0.1)  # held for the missing seq 1
    event = await receive_type(ws, "message.created", timeout=5)
    assert event["seq"] == 2  # then sent anyway: the client catches up by since_seq

    await hand_over(_lost)  # too late: the client fills the gap from the replay instead
    await post(alice, channel, "next")
    assert (await receive_type(ws, "message.created"))["seq"] == 3
    await ws.disconnect()
