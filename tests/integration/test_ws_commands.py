"""Slash commands over the WebSocket (in-process communicators on the real Redis layer): the
``command.run`` frame answered by ``command.done``, the events of each command, a
``message.send`` holding a command refused like its REST twin, and the errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.models import Membership, Message
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


def run(channel: Any, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "command.run", "channel_id": str(channel.pk), "text": text, **extra}


async def test_me_over_the_socket_reaches_the_channel_as_an_action(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    listener = await connect(bob)
    sender = await connect(alice)
    client_id = str(uuid.uuid4())
    await sender.send_json_to(run(channel, "/me waves", client_id=client_id))
    done = await receive_type(sender, "command.done")
    assert (done["command"], done["client_id"]) == ("me", client_id)
    assert (done["message"]["content"], done["message"]["action"]) == ("waves", True)
    created = await receive_type(listener, "message.created")
    assert created["message"]["id"] == done["message"]["id"]
    assert created["message"]["action"] is True
    await listener.disconnect()
    await sender.disconnect()


async def test_topic_over_the_socket_sends_channel_updated(alice: Any, channel: Any) -> None:
    ws = await connect(alice)
    await ws.send_json_to(run(channel, "/topic Ship it"))
    done = await receive_type(ws, "command.done")
    assert done == {
        "type": "command.done",
        "command": "topic",
        "channel_id": str(channel.pk),
        "client_id": None,
        "message": None,
    }
    updated = await receive_type(ws, "channel.updated")
    assert updated["channel"]["topic"] == "Ship it"
    await ws.disconnect()


async def test_leave_over_the_socket_sends_membership_left(
    alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    ws = await connect(bob)
    await ws.send_json_to(run(channel, "/leave"))
    assert (await receive_type(ws, "command.done"))["command"] == "leave"
    membership = await receive_type(ws, "membership")
    assert membership["joined"] is False
    exists = await database_sync_to_async(
        Membership.objects.filter(channel=channel, user=bob).exists
    )()
    assert not exists
    await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ({"text": "/dance"}, "unknown_command", "text"),
        ({"text": "/topic x", "channel_id": "nope"}, "validation_error", "channel_id"),
        ({"text": 7}, "validation_error", "text"),
        ({"text": "/shrug", "channel_id": str(uuid.uuid4())}, "not_found", None),
    ],
)
async def test_bad_command_frames_are_error_events(
    alice: Any, channel: Any, frame: dict[str, Any], code: str, field: str | None
) -> None:
    ws = await connect(alice)
    await ws.send_json_to({**run(channel, "/shrug"), **frame})
    error = await receive_type(ws, "error")
    assert (error["code"], error["ref"]) == (code, "command.run")
    if field:
        assert field in error["fields"]
    await ws.disconnect()
    count = await database_sync_to_async(Message.objects.count)()
    assert count == 0


async def test_message_send_with_a_command_is_refused_and_two_slashes_send_one(
    alice: Any, channel: Any
) -> None:
    ws = await connect(alice)
    base = {"type": "message.send", "channel_id": str(channel.pk)}
    await ws.send_json_to({**base, "content": "/topic nope"})
    error = await receive_type(ws, "error")
    assert (error["code"], error["ref"]) == ("command", "message.send")
    assert "content" in error["fields"]
    await ws.send_json_to(
        {**base, "content": "//topic is a command", "client_id": str(uuid.uuid4())}
    )
    ack = await receive_type(ws, "ack")
    assert ack["message"]["content"] == "/topic is a command"
    await ws.disconnect()
