"""/ws/chat/ limits: capped replays, ping with channels, bad frames, sockets per user.

Through Channels' WebsocketCommunicator on the real Redis layer (the live-server side of the
same rules is in test_ws_live_limits.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from chat import consumers, presence, selectors
from tests.factories import ChannelFactory, MembershipFactory
from tests.integration.test_ws_consumer import connect, post
from tests.integration.ws_support import (
    close_code,
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    receive_until,
    token_protocols,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


async def subscribe(ws: Any, channel: Any, since_seq: int) -> tuple[dict[str, Any], list[Any]]:
    await ws.send_json_to(
        {"type": "subscribe", "channel_id": str(channel.pk), "since_seq": since_seq}
    )
    return await receive_until(ws, lambda e: e["type"] == "subscribed")


# -- capped replays -----------------------------------------------------------------------


@override_settings(CHAT_REPLAY_LIMIT=3)
async def test_replay_stops_at_the_limit_and_the_client_pages_on(
    alice: Any, bob: Any, channel: Any
) -> None:
    for number in range(1, 8):
        await post(alice, channel, f"m{number}")
    ws = await connect(bob)

    subscribed, replayed = await subscribe(ws, channel, since_seq=0)
    assert [e["seq"] for e in replayed] == [1, 2, 3]
    assert subscribed == {
        "type": "subscribed",
        "channel_id": str(channel.pk),
        "last_seq": 7,
        "has_more": True,
        "replayed_to": 3,
    }
    # A change while the client pages: it arrives in its place in a later page, not now.
    await post(alice, channel, "m8, during the paging")
    subscribed, replayed = await subscribe(ws, channel, since_seq=subscribed["replayed_to"])
    assert [e["seq"] for e in replayed] == [4, 5, 6]
    assert subscribed["has_more"] is True and subscribed["replayed_to"] == 6

    subscribed, replayed = await subscribe(ws, channel, since_seq=6)
    assert [(e["seq"], e["message"]["content"]) for e in replayed] == [
        (7, "m7"),
        (8, "m8, during the paging"),
    ]
    assert subscribed == {"type": "subscribed", "channel_id": str(channel.pk), "last_seq": 8}

    # Caught up: live events flow again, each exactly once.
    await post(alice, channel, "m9")
    event = await receive_type(ws, "message.created")
    assert event["seq"] == 9
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert between == []
    await ws.disconnect()


@override_settings(CHAT_REPLAY_LIMIT=250)
async def test_a_replay_reads_the_database_a_page_at_a_time(
    alice: Any, bob: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers.database, "REPLAY_PAGE_SIZE", 4)
    for number in range(10):
        await post(alice, channel, f"m{number}")
    pages: list[int] = []
    changes_since = selectors.changes_since

    def counted(**kwargs: Any) -> Any:
        result = changes_since(**kwargs)
        pages.append(len(result[1]))
        return result

    monkeypatch.setattr(selectors, "changes_since", counted)
    ws = await connect(bob)
    subscribed, replayed = await subscribe(ws, channel, since_seq=0)
    assert [e["seq"] for e in replayed] == list(range(1, 11))
    assert "has_more" not in subscribed and subscribed["last_seq"] == 10
    assert pages == [4, 4, 2]
    await ws.disconnect()


# -- ping with channels -------------------------------------------------------------------


async def test_ping_with_channels_answers_the_last_seq_of_those_the_user_sees(
    alice: Any, bob: Any, channel: Any, private_channel: Any
) -> None:
    await post(alice, channel, "one")
    await post(alice, channel, "two")
    await post(alice, private_channel, "secret")
    unknown = str(uuid.uuid4())
    ws = await connect(bob)
    await ws.send_json_to(
        {"type": "ping", "channels": [str(channel.pk), str(private_channel.pk), unknown]}
    )
    pong = await receive_type(ws, "pong")
    assert pong == {"type": "pong", "channels": {str(channel.pk): 2}}

    insider = await connect(alice)
    await insider.send_json_to({"type": "ping", "channels": [str(private_channel.pk)]})
    assert (await receive_type(insider, "pong"))["channels"] == {str(private_channel.pk): 1}
    await insider.send_json_to({"type": "ping", "channels": []})
    assert (await receive_type(insider, "pong"))["channels"] == {}
    await insider.disconnect()
    await ws.disconnect()


@pytest.mark.parametrize(
    "channels",
    ["not a list", ["not-a-uuid"], [1], [None], [0] * 501],
)
async def test_ping_with_bad_channels_is_an_error_and_the_socket_stays(
    bob: Any, channels: Any
) -> None:
    ws = await connect(bob)
    await ws.send_json_to({"type": "ping", "channels": channels})
    error = await receive_type(ws, "error")
    assert error["code"] == "validation_error" and error["ref"] == "ping"
    assert "channels" in error["fields"]
    await ws.send_json_to({"type": "ping"})
    assert await receive_type(ws, "pong") == {"type": "pong"}
    await ws.disconnect()


# -- bad frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 900 + "]" * 900,
        "[" * 16_000,
        '{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"type": "message.send", "channel_id": "CHANNEL", "content": "\\ud800"}',
        '{"type": "message.send", "channel_id": "CHANNEL", "content": "a\\uDC00b"}',
        '{"type": "message.send", "channel_id": "CHANNEL", "content": "\ud800"}',
        '{"type": "\udfff"}',
    ],
    ids=[
        "900-levels",
        "unclosed",
        "deep-field",
        "escaped-surrogate",
        "escaped-low-surrogate",
        "raw-surrogate",
        "raw-surrogate-type",
    ],
)
async def test_bad_frames_get_bad_request_and_the_socket_stays_open(
    alice: Any, channel: Any, frame: str
) -> None:
    ws = await connect(alice)
    await ws.send_to(text_data=frame.replace("CHANNEL", str(channel.pk)))
    error = await receive_type(ws, "error")
    assert error["code"] == "bad_request" and error["ref"] == "frame"
    await ws.send_json_to({"type": "ping"})
    assert await receive_type(ws, "pong") == {"type": "pong"}
    await ws.disconnect()


async def test_a_surrogate_pair_escape_is_a_valid_character(alice: Any, channel: Any) -> None:
    ws = await connect(alice)
    frame = '{"type": "message.send", "channel_id": "CHANNEL", "content": "\\ud83d\\ude00"}'
    await ws.send_to(text_data=frame.replace("CHANNEL", str(channel.pk)))
    ack = await receive_type(ws, "ack")
    assert ack["message"]["content"] == "\N{GRINNING FACE}"
    await ws.disconnect()


async def test_a_crashing_consumer_leaves_presence_at_once(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Any, content: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(consumers.ChatConsumer, "handle_ping", broken)
    ws = await connect(alice)
    assert await presence.online_among([alice.pk]) == {str(alice.pk)}
    await ws.send_json_to({"type": "ping"})
    with pytest.raises(RuntimeError):
        await ws.receive_output(timeout=5)
    assert await presence.online_among([alice.pk]) == set()


# -- open sockets per user ----------------------------------------------------------------


@override_settings(CHAT_MAX_SOCKETS_PER_USER=2)
async def test_a_socket_past_the_per_user_limit_is_refused_with_4408(alice: Any, bob: Any) -> None:
    first, second = await connect(alice), await connect(alice)
    third = communicator(protocols=token_protocols(alice))
    connected, _ = await third.connect()
    assert connected
    error = await third.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "too_many_connections"
    assert await close_code(third) == consumers.CLOSE_TOO_MANY_SOCKETS
    other_user = await connect(bob)  # the limit is per user

    await first.disconnect()
    again = await connect(alice)  # a closed socket frees its place
    for ws in (second, again, other_user):
        await ws.disconnect()


async def test_in_process_presence_enforces_the_limit_too(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence, "_uses_redis", lambda: False)
    await presence.connection_opened(user_id="u1", connection="a", limit=2)
    await presence.connection_opened(user_id="u1", connection="b", limit=2)
    with pytest.raises(presence.TooManyConnections):
        await presence.connection_opened(user_id="u1", connection="c", limit=2)
    await presence.connection_closed(user_id="u1", connection="a")
    await presence.connection_opened(user_id="u1", connection="c", limit=2)
    for name in ("b", "c"):
        await presence.connection_closed(user_id="u1", connection=name)


async def test_members_see_private_channel_pings_after_joining(alice: Any, bob: Any) -> None:
    hidden = await database_sync_to_async(ChannelFactory.create)(is_private=True)
    ws = await connect(bob)
    await ws.send_json_to({"type": "ping", "channels": [str(hidden.pk)]})
    assert (await receive_type(ws, "pong"))["channels"] == {}
    await database_sync_to_async(MembershipFactory.create)(channel=hidden, user=bob)
    await ws.send_json_to({"type": "ping", "channels": [str(hidden.pk)]})
    assert (await receive_type(ws, "pong"))["channels"] == {str(hidden.pk): 0}
    await ws.disconnect()
