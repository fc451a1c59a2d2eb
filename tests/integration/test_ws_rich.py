"""Reactions and replies over the WebSocket (one process, in-process communicators): the
``reaction.add`` / ``reaction.remove`` frames, ``message.send`` with ``parent_id``, their
events and their errors. tests/integration/test_ws_live_rich.py runs them on two processes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.factories import MembershipFactory
from tests.integration.ws_support import (
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    token_protocols,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


async def connect(user: Any) -> Any:
    ws = communicator(protocols=token_protocols(user))
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=5))["type"] == "welcome"
    return ws


@database_sync_to_async
def post(user: Any, channel: Any, content: str = "hello", parent: Any = None) -> Any:
    message, _ = services.message_create(
        user=user, channel_id=channel.pk, content=content, parent_id=parent and parent.pk
    )
    return message


async def test_reaction_frames_update_the_message_for_every_subscriber(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    message = await post(alice, channel, "react here")
    listener = await connect(alice)
    reactor = await connect(bob)
    frame = {"type": "reaction.add", "message_id": str(message.pk), "emoji": "🎉"}
    await reactor.send_json_to(frame)
    updated = await receive_type(listener, "message.updated")
    assert updated["seq"] == message.seq + 1
    assert updated["message"]["reactions"] == [
        {"emoji": "🎉", "count": 1, "user_ids": [str(bob.pk)]}
    ]
    assert (await receive_type(reactor, "message.updated")) == updated
    await reactor.send_json_to({**frame, "type": "reaction.remove"})
    removed = await receive_type(listener, "message.updated")
    assert removed["seq"] == message.seq + 2
    assert removed["message"]["reactions"] == []
    await listener.disconnect()
    await reactor.disconnect()


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ({"emoji": "nope"}, "unknown_emoji", "emoji"),
        ({"emoji": 5}, "validation_error", "emoji"),
        ({"emoji": "👍", "message_id": "nope"}, "validation_error", "message_id"),
        ({"emoji": "👍", "message_id": str(uuid.uuid4())}, "not_found", None),
    ],
)
async def test_bad_reaction_frame_is_an_error_event(
    alice: Any, channel: Any, frame: dict[str, Any], code: str, field: str | None
) -> None:
    message = await post(alice, channel)
    ws = await connect(alice)
    await ws.send_json_to({"type": "reaction.add", "message_id": str(message.pk), **frame})
    error = await receive_type(ws, "error")
    assert error["code"] == code and error["ref"] == "reaction.add"
    if field:
        assert field in error["fields"]
    await ws.disconnect()


async def test_reacting_to_a_tombstone_over_the_socket_is_an_error(
    alice: Any, channel: Any
) -> None:
    message = await post(alice, channel)
    await database_sync_to_async(services.message_delete)(user=alice, message_id=message.pk)
    ws = await connect(alice)
    await ws.send_json_to({"type": "reaction.add", "message_id": str(message.pk), "emoji": "👍"})
    error = await receive_type(ws, "error")
    assert error["code"] == "message_deleted"
    await ws.send_json_to({"type": "reaction.remove", "message_id": str(message.pk), "emoji": "👍"})
    assert (await receive_type(ws, "error"))["ref"] == "reaction.remove"
    await ws.disconnect()


async def test_message_send_with_parent_id_is_a_reply_with_the_parents_count(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    parent = await post(alice, channel, "thread")
    listener = await connect(alice)
    sender = await connect(bob)
    client_id = str(uuid.uuid4())
    await sender.send_json_to(
        {
            "type": "message.send",
            "channel_id": str(channel.pk),
            "content": "a reply",
            "client_id": client_id,
            "parent_id": str(parent.pk),
        }
    )
    ack = await receive_type(sender, "ack")
    assert ack["message"]["parent_id"] == str(parent.pk)
    created = await receive_type(listener, "message.created")
    assert created["message"] == ack["message"]
    assert created["parent_id"] == str(parent.pk)
    assert created["reply_count"] == 1
    assert created["last_reply_at"] == ack["message"]["created_at"]
    await sender.disconnect()
    await listener.disconnect()


async def test_reply_errors_over_the_socket(alice: Any, channel: Any, private_channel: Any):
    parent = await post(alice, channel, "thread")
    reply = await post(alice, channel, "reply", parent=parent)
    hidden = await post(alice, private_channel, "private")
    ws = await connect(alice)
    base = {"type": "message.send", "channel_id": str(channel.pk), "content": "x"}
    await ws.send_json_to({**base, "parent_id": str(reply.pk), "client_id": str(uuid.uuid4())})
    error = await receive_type(ws, "error")
    assert error["code"] == "bad_parent" and "parent_id" in error["fields"]
    await ws.send_json_to({**base, "parent_id": str(hidden.pk), "client_id": str(uuid.uuid4())})
    assert (await receive_type(ws, "error"))["code"] == "bad_parent"  # another channel
    await ws.send_json_to({**base, "parent_id": "nope"})
    assert "parent_id" in (await receive_type(ws, "error"))["fields"]
    await ws.disconnect()
