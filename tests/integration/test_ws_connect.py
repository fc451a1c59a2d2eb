"""The connect path: batched presence (``?presence=batch``), the handshake's reads, the
subscribe of a channel joined at connect, and the server options that make a connect cheap
(docs/performance.md, "Round 3: connects")."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from chat import services, ws_auth
from chat.consumers.consumer import wants_presence_batch
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.ws_support import (
    access_token,
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

BATCH_PATH = "/ws/chat/?presence=batch"


async def connect(user: Any, *, batch: bool = True) -> Any:
    ws = communicator(protocols=token_protocols(user), path=BATCH_PATH if batch else "/ws/chat/")
    connected, _ = await ws.connect()
    assert connected
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome", welcome
    return ws


async def no_presence_before_pong(ws: Any) -> None:
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert [e for e in between if e["type"] == "presence"] == []


@database_sync_to_async
def member(channel: Any, user: Any) -> None:
    MembershipFactory.create(channel=channel, user=user)


@database_sync_to_async
def new_user() -> Any:
    return UserFactory.create()


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        (b"", False),
        (b"presence=batch", True),
        (b"presence=single", False),
        (b"other=1&presence=batch", True),
        (b"presence=%ff", False),
    ],
)
def test_presence_batches_are_asked_for_in_the_query(query: bytes, wanted: bool) -> None:
    assert wants_presence_batch({"query_string": query}) is wanted


def test_presence_batches_without_a_query_string() -> None:
    assert wants_presence_batch({}) is False


async def test_the_snapshot_is_one_batched_event(alice: Any, bob: Any, channel: Any) -> None:
    carol = await new_user()
    await member(channel, bob)
    await member(channel, carol)
    others = [await connect(bob), await connect(carol)]
    alice_ws = await connect(alice)
    snapshot = await receive_type(alice_ws, "presence")
    assert snapshot == {
        "type": "presence",
        "users": [
            {"user_id": user_id, "status": "online"}
            for user_id in sorted([str(bob.pk), str(carol.pk)])
        ],
    }
    await no_presence_before_pong(alice_ws)
    for ws in (alice_ws, *others):
        await ws.disconnect()


async def test_an_old_client_still_gets_one_event_per_person(
    alice: Any, bob: Any, channel: Any
) -> None:
    carol = await new_user()
    await member(channel, bob)
    await member(channel, carol)
    others = [await connect(bob), await connect(carol)]
    alice_ws = await connect(alice, batch=False)
    first = await receive_type(alice_ws, "presence")
    second = await receive_type(alice_ws, "presence")
    assert {(e["user_id"], e["status"]) for e in (first, second)} == {
        (str(bob.pk), "online"),
        (str(carol.pk), "online"),
    }
    assert "users" not in first
    await no_presence_before_pong(alice_ws)
    for ws in (alice_ws, *others):
        await ws.disconnect()


async def test_changes_of_one_moment_reach_a_batch_client_as_one_event(
    alice: Any, bob: Any, channel: Any
) -> None:
    carol = await new_user()
    await member(channel, bob)
    await member(channel, carol)
    watcher = await connect(bob)
    with override_settings(PRESENCE_BATCH_SECONDS=0.5):
        alice_ws = await connect(alice)
        carol_ws = await connect(carol)
        online = await receive_type(watcher, "presence")
    assert sorted(online["users"], key=lambda u: u["user_id"]) == [
        {"user_id": user_id, "status": "online"}
        for user_id in sorted([str(alice.pk), str(carol.pk)])
    ]
    await alice_ws.disconnect()
    offline = await receive_type(watcher, "presence")
    assert offline == {
        "type": "presence",
        "users": [{"user_id": str(alice.pk), "status": "offline"}],
    }
    for ws in (watcher, carol_ws):
        await ws.disconnect()


async def test_a_batch_leaves_out_the_client_itself_and_what_it_knows(
    alice: Any, bob: Any, channel: Any
) -> None:
    await member(channel, bob)
    with override_settings(PRESENCE_BATCH_SECONDS=0.5):
        # Both go online in the same batch; each hears only the other.
        bob_ws = await connect(bob)
        alice_ws = await connect(alice)
        heard = await receive_type(bob_ws, "presence")
    assert heard == {"type": "presence", "users": [{"user_id": str(alice.pk), "status": "online"}]}
    await no_presence_before_pong(bob_ws)
    for ws in (alice_ws, bob_ws):
        await ws.disconnect()


async def test_the_handshake_reads_the_channels_and_co_members(
    alice: Any, bob: Any, channel: Any
) -> None:
    await member(channel, bob)
    other = await database_sync_to_async(ChannelFactory.create)(name="other")
    auth = await ws_auth.authenticate(
        {"type": "websocket", "subprotocols": ["chat.v1", f"bearer.{access_token(alice)}"]}
    )
    assert auth.problem is None
    assert auth.member_channels == ((str(channel.pk), "general", 0),)
    assert auth.co_member_ids == (bob.pk,)
    assert str(other.pk) not in {c[0] for c in auth.member_channels}


async def test_a_refused_handshake_reads_nothing(alice: Any) -> None:
    auth = await ws_auth.authenticate({"type": "websocket", "subprotocols": ["bearer.nonsense"]})
    assert auth.problem == ws_auth.PROBLEM_UNAUTHORIZED
    assert auth.member_channels is None
    assert auth.co_member_ids is None


async def test_a_channel_the_handshake_did_not_read_is_followed(
    alice: Any, bob: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob joined after the handshake's read and before the read that follows the group
    joins: the connection follows the channel all the same."""
    await member(channel, bob)
    original = ws_auth._connect_reads
    monkeypatch.setattr(ws_auth, "_connect_reads", lambda result: ((), original(result)[1]))
    ws = await connect(bob)
    await database_sync_to_async(services.message_create)(
        user=alice, channel_id=channel.pk, content="after"
    )
    created = await receive_type(ws, "message.created")
    assert created["message"]["content"] == "after"
    await ws.disconnect()


async def test_resubscribing_a_joined_channel_replays_from_since_seq(
    alice: Any, channel: Any
) -> None:
    for text in ("one", "two", "three"):
        await database_sync_to_async(services.message_create)(
            user=alice, channel_id=channel.pk, content=text
        )
    ws = await connect(alice)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 1})
    subscribed, replayed = await receive_until(ws, lambda e: e["type"] == "subscribed")
    assert [e["message"]["content"] for e in replayed if e["type"] == "message.created"] == [
        "two",
        "three",
    ]
    assert subscribed["last_seq"] == 3
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    assert (await receive_type(ws, "subscribed"))["last_seq"] == 3
    await ws.disconnect()


async def test_resubscribing_a_channel_no_longer_visible_is_not_found(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    await member(private_channel, bob)
    ws = await connect(bob)

    @database_sync_to_async
    def remove() -> None:
        from chat.models import Membership

        Membership.objects.filter(channel=private_channel, user=bob).delete()

    await remove()  # no event: as if the heartbeat had not caught up yet
    await ws.send_json_to(
        {"type": "subscribe", "channel_id": str(private_channel.pk), "since_seq": 0}
    )
    error = await receive_type(ws, "error")
    assert error["code"] == "not_found"
    await ws.disconnect()


def test_a_token_for_an_id_out_of_range_is_refused_not_an_error(db: None) -> None:
    from rest_framework_simplejwt.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import JWTAuthentication

    token = AccessToken()
    token["user_id"] = str(2**70)
    with pytest.raises(AuthenticationFailed):
        JWTAuthentication().get_user(token)
    token["user_id"] = str(uuid.uuid4().int % 10**6 + 10**9)
    with pytest.raises(AuthenticationFailed):
        JWTAuthentication().get_user(token)


def test_autobahn_debug_log_arguments_are_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import txaio
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    from chatsite import ws_server

    def marker(*_args: Any, **_kwargs: Any) -> str:
        return "formatted"

    for module in (protocol, twisted_websocket):
        for name in ("hltype", "hlval", "pformat"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, marker)
    monkeypatch.setattr(txaio, "get_global_log_level", lambda: "debug", raising=False)
    ws_server._skip_debug_log_formatting()
    assert protocol.hltype(object) == "formatted"  # debug logging on: left alone
    monkeypatch.setattr(txaio, "get_global_log_level", lambda: "info", raising=False)
    ws_server._skip_debug_log_formatting()
    assert protocol.hltype(object) == ""
    assert protocol.pformat({"a": 1}) == ""
    assert twisted_websocket.hltype(object) == ""


async def test_handshakes_beyond_the_limit_wait_for_a_welcome(
    alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    real = ws_auth.authenticate
    started: list[str] = []
    hold = asyncio.Event()

    async def slow_for_alice(scope: Any) -> Any:
        token = next(p for p in scope["subprotocols"] if p.startswith("bearer."))
        who = "alice" if token == f"bearer.{access_token_of['alice']}" else "bob"
        started.append(who)
        if who == "alice":
            await hold.wait()
        return await real(scope)

    access_token_of = {"alice": access_token(alice), "bob": access_token(bob)}
    monkeypatch.setattr(ws_auth, "authenticate", slow_for_alice)
    with override_settings(CHAT_WS_CONNECTS_IN_FLIGHT=1):
        first = communicator(protocols=["chat.v1", f"bearer.{access_token_of['alice']}"])
        second = communicator(protocols=["chat.v1", f"bearer.{access_token_of['bob']}"])
        first_connect = asyncio.ensure_future(first.connect(timeout=10))
        async with asyncio.timeout(5):
            while started != ["alice"]:
                await asyncio.sleep(0.01)
        second_connect = asyncio.ensure_future(second.connect(timeout=10))
        await asyncio.sleep(0.3)
        assert started == ["alice"]  # bob waits for alice's handshake
        hold.set()
        assert (await first_connect)[0]
        assert (await first.receive_json_from(timeout=5))["type"] == "welcome"
        assert (await second_connect)[0]
        assert (await second.receive_json_from(timeout=5))["type"] == "welcome"
        assert started == ["alice", "bob"]
    for ws in (first, second):
        await ws.disconnect()


async def test_a_refused_handshake_lets_the_next_one_in(alice: Any) -> None:
    with override_settings(CHAT_WS_CONNECTS_IN_FLIGHT=1):
        refused = communicator(protocols=["chat.v1", "bearer.nonsense"])
        await refused.connect()
        error = await refused.receive_json_from(timeout=5)
        assert error["code"] == "unauthorized"
        await refused.disconnect()
        ws = await connect(alice)  # the gate was given back
        await ws.disconnect()


async def test_a_handshake_that_waited_too_long_is_refused_without_work(
    alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    real = ws_auth.authenticate
    authenticated: list[Any] = []

    async def slow(scope: Any) -> Any:
        authenticated.append(scope)
        await asyncio.sleep(0.5)
        return await real(scope)

    monkeypatch.setattr(ws_auth, "authenticate", slow)
    monkeypatch.setattr(ws_auth, "HANDSHAKE_WAIT_LIMIT_SECONDS", 0.2)
    with override_settings(CHAT_WS_CONNECTS_IN_FLIGHT=1):
        first = communicator(protocols=token_protocols(alice))
        second = communicator(protocols=token_protocols(bob))
        first_connect = asyncio.ensure_future(first.connect(timeout=10))
        async with asyncio.timeout(5):
            while not authenticated:
                await asyncio.sleep(0.01)
        connected, code = await second.connect(timeout=10)
        assert (connected, code) == (False, 1013)
        assert len(authenticated) == 1  # bob's handshake did no work
        assert (await first_connect)[0]
        assert (await first.receive_json_from(timeout=5))["type"] == "welcome"
    await first.disconnect()


def test_the_gate_refuses_a_wait_just_before_daphne_would_drop_the_handshake() -> None:
    """The wait limit follows CHAT_WS_HANDSHAKE_SECONDS, the time Daphne gives a handshake
    (chatsite/ws_server.py), less a second for the handshake's own work."""
    with override_settings(CHAT_WS_HANDSHAKE_SECONDS=30):
        assert ws_auth.handshake_wait_limit() == 29.0
    with override_settings(CHAT_WS_HANDSHAKE_SECONDS=1):
        assert ws_auth.handshake_wait_limit() == 1.0  # never less than a second


def test_the_handshake_reads_channels_and_co_members_in_one_round_trip(alice: Any) -> None:
    """Both lists as the two selectors give them, for one statement message (PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import selectors
    from chatsite import rls

    bob = UserFactory.create()
    carol = UserFactory.create()
    for name, members in (("one", (alice, bob)), ("two", (alice, bob, carol))):
        channel = ChannelFactory.create(name=name)
        for member in members:
            MembershipFactory.create(channel=channel, user=member)
    with rls.acting_as_user(alice), CaptureQueriesContext(connection) as queries:
        channels, co_members = selectors.member_channels_and_co_members(user=alice)
    with rls.acting_as_user(alice):
        assert channels == selectors.channel_ids_of_member(user=alice)
        assert co_members == selectors.co_member_ids(user=alice) == sorted([bob.pk, carol.pk])
    assert len(queries) == 1
