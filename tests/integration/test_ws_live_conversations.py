"""Conversations on two live Daphne processes: a direct message reaching sockets opened
before it existed, channel edits, removal stopping delivery at once, and read markers
across tabs (docs/api.md, "Conversations on the socket").

Requests go over HTTP to one process, sockets listen on both. Every event received is also
checked against docs/asyncapi.yaml.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection

from tests import asyncapi
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_ws_live import TIMEOUT, _get, of_type, open_ws
from tests.integration.ws_support import access_token

pytestmark = pytest.mark.live


async def make(factory: Any, **fields: Any) -> Any:
    return await database_sync_to_async(factory.create)(**fields)


def _request(url: str, user: Any, method: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {access_token(user)}",
            "Content-Type": "application/json",
        },
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def call(server: Any, user: Any, method: str, path: str, body: Any = None) -> Any:
    status, answer = await asyncio.to_thread(_request, server.url + path, user, method, body)
    return status, answer


async def next_event(
    ws: ClientConnection, match: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first event that matches (each one checked against the protocol document)."""
    skipped: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            event = json.loads(await ws.recv())
            assert asyncapi.problems(event) == [], event
            if match(event):
                return event, skipped
            skipped.append(event)


async def events_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Everything the socket had for us: the events before the answer to a ping now."""
    await ws.send(json.dumps({"type": "ping"}))
    _, before = await next_event(ws, of_type("pong"))
    return before


def created_in(channel_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: (
        event["type"] == "message.created" and event["message"]["channel_id"] == channel_id
    )


async def test_a_new_dm_reaches_sockets_opened_before_it_on_either_process(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any
) -> None:
    server_a, server_b = daphne_servers
    carol = await make(UserFactory, username="carol", display_name="Carol")
    bob_b = await open_ws(server_b, bob)
    bob_a = await open_ws(server_a, bob)
    carol_b = await open_ws(server_b, carol)

    status, dm = await call(server_a, alice, "POST", "/api/chat/dms/", {"user_ids": [bob.pk]})
    assert status == 201
    for ws in (bob_b, bob_a):
        joined, _ = await next_event(ws, of_type("membership"))
        assert joined["joined"] is True
        assert joined["channel"]["id"] == dm["id"] and joined["channel"]["kind"] == "dm"
        assert joined["channel"]["title"] == "Alice" and joined["channel"]["is_member"] is True
        subscribed, _ = await next_event(ws, of_type("subscribed"))
        assert subscribed["channel_id"] == dm["id"]

    status, sent = await call(
        server_a, alice, "POST", "/api/chat/messages", {"channel_id": dm["id"], "content": "psst"}
    )
    assert status == 201
    for ws in (bob_b, bob_a):
        event, _ = await next_event(ws, created_in(dm["id"]))
        assert event["message"] == sent
    # Someone else's socket hears nothing of it.
    assert not [e for e in await events_until_pong(carol_b) if e["type"] != "presence"]
    # A socket opened now lists it in its welcome.
    later = await open_ws(server_b, bob)
    await later.close()
    for ws in (bob_b, bob_a, carol_b):
        await ws.close()


async def test_welcome_lists_dms_with_their_kind_and_members(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any
) -> None:
    server_a, _server_b = daphne_servers
    status, dm = await call(server_a, alice, "POST", "/api/chat/dms/", {"user_ids": [bob.pk]})
    assert status == 201
    import websockets
    from websockets.typing import Subprotocol

    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(bob)}")]
    async with websockets.connect(server_a.ws_url, subprotocols=protocols) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert asyncapi.problems(welcome) == []
    (entry,) = [item for item in welcome["channels"] if item["id"] == dm["id"]]
    assert entry["kind"] == "dm" and entry["last_seq"] == 0
    assert {member["username"] for member in entry["members"]} == {"alice", "bob"}


async def test_a_channel_edit_reaches_everyone_following_it(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await make(MembershipFactory, channel=channel, user=bob)
    bob_b = await open_ws(server_b, bob)
    status, body = await call(
        server_a,
        alice,
        "PATCH",
        f"/api/chat/channels/{channel.pk}/",
        {"title": "General chat", "topic": "Be nice"},
    )
    assert status == 200
    event, _ = await next_event(bob_b, of_type("channel.updated"))
    assert event["channel"]["id"] == str(channel.pk)
    assert event["channel"]["title"] == "General chat" and event["channel"]["topic"] == "Be nice"
    assert {key: body[key] for key in event["channel"]} == event["channel"]
    await bob_b.close()


async def test_a_removed_member_stops_receiving_at_once_and_every_tab_drops_it(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, private_channel: Any
) -> None:
    server_a, server_b = daphne_servers
    carol = await make(UserFactory, username="carol", display_name="Carol")
    await make(MembershipFactory, channel=private_channel, user=bob)
    await make(MembershipFactory, channel=private_channel, user=carol)
    channel_id = str(private_channel.pk)
    bob_b = await open_ws(server_b, bob)
    bob_a = await open_ws(server_a, bob)
    carol_b = await open_ws(server_b, carol)

    status, _ = await call(
        server_a, alice, "DELETE", f"/api/chat/channels/{channel_id}/members/{bob.pk}/"
    )
    assert status == 204
    for ws in (bob_b, bob_a):
        left, before = await next_event(ws, of_type("membership"))
        assert left["joined"] is False and left["channel"]["id"] == channel_id
        assert left["channel"]["is_member"] is False
        # The socket stopped following the channel before it said so.
        assert [e["type"] for e in before if e["type"] == "unsubscribed"] == ["unsubscribed"]

    status, _ = await call(
        server_a, alice, "POST", "/api/chat/messages", {"channel_id": channel_id, "content": "s"}
    )
    assert status == 201
    await next_event(carol_b, created_in(channel_id))
    for ws in (bob_b, bob_a):
        assert not [e for e in await events_until_pong(ws) if e["type"] == "message.created"]
        await ws.send(json.dumps({"type": "subscribe", "channel_id": channel_id}))
        refused, _ = await next_event(ws, of_type("error"))
        assert refused["code"] == "not_found"
    for ws in (bob_b, bob_a, carol_b):
        await ws.close()


async def test_leaving_by_removing_oneself_tells_the_other_tabs(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any
) -> None:
    server_a, server_b = daphne_servers
    room = await make(ChannelFactory, name="room")
    await make(MembershipFactory, channel=room, user=bob)
    bob_b = await open_ws(server_b, bob)
    status, _ = await call(
        server_a, bob, "DELETE", f"/api/chat/channels/{room.pk}/members/{bob.pk}"
    )
    assert status == 204
    left, _ = await next_event(bob_b, of_type("membership"))
    assert left["joined"] is False and left["channel"]["name"] == "room"
    await bob_b.close()


async def test_a_read_marker_moved_in_one_tab_reaches_the_others(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await make(MembershipFactory, channel=channel, user=bob)
    for text in ("one", "two"):
        status, _ = await call(
            server_a,
            alice,
            "POST",
            "/api/chat/messages",
            {"channel_id": str(channel.pk), "content": text},
        )
        assert status == 201
    bob_b = await open_ws(server_b, bob)
    bob_a = await open_ws(server_a, bob)
    alice_b = await open_ws(server_b, alice)
    status, _ = await call(
        server_a, bob, "POST", f"/api/chat/channels/{channel.pk}/read/", {"seq": 2}
    )
    assert status == 204
    for ws in (bob_b, bob_a):
        event, _ = await next_event(ws, of_type("read"))
        assert event == {"type": "read", "channel_id": str(channel.pk), "seq": 2}
    # Nobody else hears of bob's marker; a marker that does not move sends nothing.
    status, _ = await call(
        server_a, bob, "POST", f"/api/chat/channels/{channel.pk}/read/", {"seq": 1}
    )
    assert status == 204
    assert not [e for e in await events_until_pong(alice_b) if e["type"] == "read"]
    assert not [e for e in await events_until_pong(bob_b) if e["type"] == "read"]
    for ws in (bob_b, bob_a, alice_b):
        await ws.close()


async def test_the_live_servers_answer_unknown_pages_with_the_site_404_and_api_with_an_index(
    daphne_servers: list[Any],
) -> None:
    """The live servers run as production does (DEBUG off)."""
    server = daphne_servers[0]
    status, page = await asyncio.to_thread(_get, server.url + "/no-such-page/")
    assert status == 404
    assert "chatsite.css" in page and "Not found" in page and "URLconf" not in page
    status, index = await asyncio.to_thread(_get, server.url + "/api/")
    assert status == 200 and json.loads(index)["schema"] == "/api/schema/"
