"""/ws/chat/ against two live Daphne processes on one Redis and one PostgreSQL.

The processes come from the session fixture ``daphne_servers`` (tests/live.py). Whatever a
test wants them to see is committed first (``transactional_db`` through ``daphne``).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from redis import asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from chat import events, services
from tests.factories import MembershipFactory, UserFactory
from tests.integration.ws_support import access_token

pytestmark = pytest.mark.live
TIMEOUT = 10.0


async def open_ws(server: Any, user: Any, token: str | None = None) -> ClientConnection:
    """A token connection to ``server``, past its welcome."""
    token = token or access_token(user)
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{token}")]
    ws = await connect(server.ws_url, subprotocols=protocols, open_timeout=TIMEOUT)
    assert ws.subprotocol == "chat.v1"
    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert welcome["type"] == "welcome", welcome
    return ws


async def receive_until(
    ws: ClientConnection, match: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first event that matches, and the ones before it."""
    skipped: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await ws.recv())
            if match(event):
                return event, skipped
            skipped.append(event)


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["type"] == kind


async def subscribe(ws: ClientConnection, channel: Any, since_seq: int | None = None) -> Any:
    frame: dict[str, Any] = {"type": "subscribe", "channel_id": str(channel.pk)}
    if since_seq is not None:
        frame["since_seq"] = since_seq
    await ws.send(json.dumps(frame))
    return await receive_until(ws, of_type("subscribed"))


@database_sync_to_async
def post(user: Any, channel: Any, content: str) -> Any:
    message, _ = services.message_create(user=user, channel_id=channel.pk, content=content)
    return message


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


def uses_core_layer() -> bool:
    return str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).endswith("RedisChannelLayer")


async def group_members(client: aioredis.Redis, group: str) -> int:
    """Who Redis delivers a group's events to: consumers (RedisChannelLayer, a sorted set per
    group) or processes (RedisPubSubChannelLayer, one subscription per process)."""
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    if uses_core_layer():
        return int(await client.zcard(f"{prefix}:group:{group}"))
    counts = await client.pubsub_numsub(f"{prefix}__group__{group}")
    return int(counts[0][1])


def _post_json(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_rest_post_on_one_process_reaches_a_websocket_client_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    listener = await open_ws(server_b, bob)
    await subscribe(listener, channel)

    status, body = await asyncio.to_thread(
        _post_json,
        f"{server_a.url}/api/chat/messages",
        access_token(alice),
        {"channel_id": str(channel.pk), "content": "over REST on A"},
    )
    assert status == 201
    event, _ = await receive_until(listener, of_type("message.created"))
    assert event["message"] == body
    assert event["seq"] == body["seq"] == 1
    await listener.close()


async def test_websocket_send_on_one_process_reaches_a_client_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    listener = await open_ws(server_a, bob)
    await subscribe(listener, channel)
    token = access_token(alice)
    sender = await open_ws(server_b, alice, token)
    client_id = str(uuid.uuid4())
    await sender.send(
        json.dumps(
            {
                "type": "message.send",
                "channel_id": str(channel.pk),
                "content": "over WS on B",
                "client_id": client_id,
            }
        )
    )
    ack, _ = await receive_until(sender, of_type("ack"))
    event, _ = await receive_until(listener, of_type("message.created"))
    assert event["message"] == ack["message"]
    assert event["message"]["client_id"] == client_id
    await sender.close()
    await listener.close()
    for server in daphne_servers:  # the tokens rode in the subprotocol header: never logged
        assert token.split(".")[2] not in server.log()


async def test_reconnect_with_since_seq_gets_exactly_the_missed_changes(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    kept = await post(alice, channel, "will be edited")
    doomed = await post(alice, channel, "will be deleted")
    ws = await open_ws(server_a, bob)
    subscribed, _ = await subscribe(ws, channel)
    last_seen = subscribed["last_seq"]
    assert last_seen == 2
    await ws.close()

    new_one = await post(alice, channel, "missed one")
    new_two = await post(alice, channel, "missed two")
    await database_sync_to_async(services.message_edit)(
        user=alice, message_id=kept.pk, content="edited while away"
    )
    await database_sync_to_async(services.message_delete)(user=alice, message_id=doomed.pk)

    ws = await open_ws(server_b, bob)
    subscribed, replayed = await subscribe(ws, channel, since_seq=last_seen)
    assert [(e["type"], e["seq"]) for e in replayed] == [
        ("message.created", 3),
        ("message.created", 4),
        ("message.updated", 5),
        ("message.deleted", 6),
    ]
    assert replayed[0]["message"]["id"] == str(new_one.pk)
    assert replayed[1]["message"]["id"] == str(new_two.pk)
    assert replayed[2]["message"]["content"] == "edited while away"
    assert replayed[3]["id"] == str(doomed.pk)
    assert subscribed["last_seq"] == 6
    await ws.close()


async def test_event_dropped_by_the_layer_is_recovered_by_since_seq(
    daphne: Any, alice: Any, bob: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await open_ws(daphne, bob)
    await subscribe(ws, channel)
    await post(alice, channel, "one")
    first, _ = await receive_until(ws, of_type("message.created"))

    send_now = events._send_now
    dropped: list[dict[str, Any]] = []

    def drop_the_first(group: str, message: dict[str, Any]) -> None:
        if not dropped:
            dropped.append(message)  # the layer "loses" this one
            return
        send_now(group, message)

    monkeypatch.setattr(events, "_send_now", drop_the_first)
    await post(alice, channel, "two, lost on the way")
    await post(alice, channel, "three")
    third, _ = await receive_until(ws, of_type("message.created"))
    assert dropped
    assert third["seq"] == first["seq"] + 2  # the client sees the gap ...

    _, replayed = await subscribe(ws, channel, since_seq=first["seq"])  # ... and catches up
    assert [(e["seq"], e["message"]["content"]) for e in replayed] == [
        (2, "two, lost on the way"),
        (3, "three"),
    ]
    await ws.close()


async def test_non_member_never_receives_a_private_channel_event(
    daphne_servers: list[Any],
    daphne: Any,
    alice: Any,
    bob: Any,
    channel: Any,
    private_channel: Any,
) -> None:
    server_a, server_b = daphne_servers
    outsider = await open_ws(server_b, bob)
    await outsider.send(json.dumps({"type": "subscribe", "channel_id": str(private_channel.pk)}))
    error, _ = await receive_until(outsider, of_type("error"))
    assert error["code"] == "not_found"
    await subscribe(outsider, channel)
    insider = await open_ws(server_a, alice)

    await insider.send(
        json.dumps(
            {"type": "message.send", "channel_id": str(private_channel.pk), "content": "secret"}
        )
    )
    await receive_until(insider, lambda e: e["type"] == "message.created")
    await post(alice, channel, "public")
    event, before = await receive_until(outsider, of_type("message.created"))
    assert event["message"]["content"] == "public"
    assert "secret" not in json.dumps(before)
    await insider.close()
    await outsider.close()


async def test_idle_socket_survives_on_an_idle_server(
    daphne_servers: list[Any], daphne: Any
) -> None:
    """Longer than redis-py's 5 s read timeout that once dropped idle sockets
    (docs/operations.md)."""
    user = await database_sync_to_async(UserFactory.create)()
    ws = await open_ws(daphne_servers[1], user)
    deadline = time.monotonic() + 12
    while (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            break
        except ConnectionClosed as closed:  # pragma: no cover - the failure this test catches
            pytest.fail(f"idle socket closed: {closed}")
    await ws.send(json.dumps({"type": "ping"}))
    pong, _ = await receive_until(ws, of_type("pong"), timeout=5)
    assert pong == {"type": "pong"}
    await ws.close()


async def test_mass_disconnect_leaves_the_server_healthy(
    daphne_servers: list[Any],
    daphne: Any,
    alice: Any,
    channel: Any,
    redis_client: aioredis.Redis,
) -> None:
    server_a = daphne_servers[0]
    crowd_size = 200
    users = await database_sync_to_async(
        lambda: [UserFactory.create() for _ in range(crowd_size // 10)]
    )()
    for user in users:
        await database_sync_to_async(MembershipFactory.create)(channel=channel, user=user)
    log_before = len(server_a.log())

    # The disconnect is the point here, not a connect storm: connect a few at a time.
    gate = asyncio.Semaphore(10)

    async def join(user: Any) -> ClientConnection:
        async with gate:
            return await open_ws(server_a, user)

    crowd = await asyncio.gather(*(join(users[n % len(users)]) for n in range(crowd_size)))
    members = await group_members(redis_client, events.channel_group(channel.pk))
    assert members == (crowd_size if uses_core_layer() else 1)
    for ws in crowd:  # all at once, without a closing handshake
        ws.transport.abort()

    # Every consumer leaves the group: no dead members stay behind in Redis.
    async with asyncio.timeout(30):
        while await group_members(redis_client, events.channel_group(channel.pk)) > 0:
            await asyncio.sleep(0.1)

    listener = await open_ws(server_a, alice)
    await post(alice, channel, "still here")
    event, _ = await receive_until(listener, of_type("message.created"))
    assert event["message"]["content"] == "still here"
    await listener.close()
    # /readyz also round-trips the channel layer; it answers 200 once no socket is open.
    async with asyncio.timeout(15):
        while (ready := await asyncio.to_thread(_get, f"{server_a.url}/readyz"))[0] != 200:
            await asyncio.sleep(0.2)
    assert ready[0] == 200
    new_log = server_a.log()[log_before:]
    assert "Traceback" not in new_log, new_log[-3000:]


async def test_frame_over_16_kib_is_closed_with_1009_by_daphne(daphne: Any, bob: Any) -> None:
    ws = await open_ws(daphne, bob)
    await ws.send("x" * (16 * 1024))  # the limit itself: answered, the socket stays open
    error, _ = await receive_until(ws, of_type("error"))
    assert error["code"] == "bad_request"
    await ws.send("x" * (16 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
