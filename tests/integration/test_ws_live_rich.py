"""Reactions and replies between two live Daphne processes, and catching up on them after a
gap (since_seq)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.factories import MembershipFactory
from tests.integration.test_ws_live import (
    _post_json,
    of_type,
    open_ws,
    post,
    receive_until,
    subscribe,
)
from tests.integration.ws_support import access_token

pytestmark = pytest.mark.live


async def test_reaction_and_reply_on_one_process_reach_a_client_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    parent = await post(alice, channel, "thread start")
    listener = await open_ws(server_b, alice)
    await subscribe(listener, channel)

    reactor = await open_ws(server_a, bob)
    await reactor.send(
        json.dumps({"type": "reaction.add", "message_id": str(parent.pk), "emoji": "👍"})
    )
    updated, _ = await receive_until(listener, of_type("message.updated"))
    assert updated["message"]["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": [str(bob.pk)]}
    ]

    status, reply = await asyncio.to_thread(
        _post_json,
        f"{server_a.url}/api/chat/messages",
        access_token(bob),
        {"channel_id": str(channel.pk), "content": "over REST on A", "parent_id": str(parent.pk)},
    )
    assert status == 201
    created, _ = await receive_until(listener, of_type("message.created"))
    assert created["message"] == reply
    assert (created["parent_id"], created["reply_count"]) == (str(parent.pk), 1)

    status, body = await asyncio.to_thread(
        _post_json,
        f"{server_b.url}/api/chat/messages/{parent.pk}/reactions/",
        access_token(alice),
        {"emoji": "🎉"},
    )
    assert status == 201
    updated, _ = await receive_until(listener, of_type("message.updated"))
    assert [r["emoji"] for r in updated["message"]["reactions"]] == ["👍", "🎉"]
    assert updated["seq"] == body["change_seq"]
    await reactor.close()
    await listener.close()


async def test_resume_after_a_gap_replays_reactions_and_replies(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    parent = await post(alice, channel, "before the gap")
    ws = await open_ws(server_a, bob)
    subscribed, _ = await subscribe(ws, channel)
    last_seen = subscribed["last_seq"]
    await ws.close()

    await database_sync_to_async(services.reaction_add)(
        user=alice, message_id=parent.pk, emoji="🚀"
    )
    reply, _ = await database_sync_to_async(services.message_create)(
        user=alice,
        channel_id=channel.pk,
        content="while away",
        parent_id=parent.pk,
        client_id=uuid.uuid4(),
    )

    ws = await open_ws(server_b, bob)
    subscribed, replayed = await subscribe(ws, channel, since_seq=last_seen)
    assert [(e["type"], e["seq"]) for e in replayed] == [
        ("message.updated", last_seen + 1),
        ("message.created", last_seen + 2),
    ]
    assert replayed[0]["message"]["reactions"][0]["emoji"] == "🚀"
    assert replayed[1]["message"]["id"] == str(reply.pk)
    assert replayed[1]["parent_id"] == str(parent.pk)
    assert replayed[1]["reply_count"] == 1
    assert subscribed["last_seq"] == last_seen + 2
    await ws.close()
