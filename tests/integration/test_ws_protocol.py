"""docs/asyncapi.yaml: a sound AsyncAPI 3 document that describes every event chatsite sends.

The WebSocket tests of this directory check each frame a consumer sends against the document
(tests/integration/conftest.py); these tests check the document itself, and that every builder
of chat/events.py and every frame handler of the consumer has its message in it.
"""

from __future__ import annotations

import ast
import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from chat import events, services
from chat.consumers.consumer import FRAME_HANDLERS
from tests import asyncapi


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_the_document_is_asyncapi_3_with_every_reference_resolving() -> None:
    document = asyncapi.document()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    for pointer in refs(document):
        asyncapi.resolve(pointer)  # KeyError for a reference to nothing
    channel_messages = {
        f"#/channels/{name}/messages/{key}"
        for name, channel in document["channels"].items()
        for key in channel["messages"]
    }
    used = set()
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            # An operation's messages are its channel's (AsyncAPI 3).
            assert message["$ref"].startswith(channel_ref + "/messages/"), message
            used.add(message["$ref"])
    assert used == channel_messages  # every message is sent or received by someone


@pytest.mark.parametrize("action", ["send", "receive"])
def test_every_payload_is_a_json_schema_with_its_own_type(action: str) -> None:
    kinds = []
    for message in asyncapi.operation_messages(action):
        jsonschema.Draft7Validator.check_schema(message["payload"])
        kind = message["payload"]["properties"]["type"]["const"]
        assert message["name"] == kind
        assert "type" in message["payload"]["required"]
        kinds.append(kind)
    assert len(kinds) == len(set(kinds)), kinds  # one message per type and direction


def test_every_client_frame_the_consumer_handles_has_a_message() -> None:
    assert set(asyncapi.validators("receive")) == set(FRAME_HANDLERS)


def builder_names() -> set[str]:
    """The event builders of chat/events.py: its public functions named ``*_event``."""
    tree = ast.parse(inspect.getsource(events))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and node.name.endswith("_event")
        and not node.name.startswith("_")
    }


@pytest.mark.django_db
def test_every_event_chat_events_builds_matches_its_message(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hello")
    dm, _created = services.dm_open(user=alice, user_ids=[bob.pk])
    dm.is_member = True  # type: ignore[attr-defined]
    message.client_id = uuid.uuid4()
    channel_id = str(channel.pk)
    built = {
        "welcome_event": [events.welcome_event(alice, [(channel_id, "general", 3)], 30)],
        "subscribed_event": [
            events.subscribed_event(channel_id, 7),
            events.subscribed_event(channel_id, 900, replayed_to=500),
        ],
        "unsubscribed_event": [events.unsubscribed_event(channel_id, 7)],
        "pong_event": [events.pong_event(), events.pong_event({channel_id: 4})],
        "ack_event": [
            events.ack_event(events.message_data(message)),
            events.ack_event({**events.message_data(message), "client_id": None}),
        ],
        "error_event": [
            events.error_event("unavailable", "Try again shortly.", "connect"),
            events.error_event("validation_error", "Bad.", "subscribe", {"since_seq": ["Bad."]}),
        ],
        "presence_event": [events.presence_event(alice.pk, "online")],
        "presence_batch_event": [
            events.presence_batch_event([(str(alice.pk), "online")]),
            events.presence_batch_event([(str(alice.pk), "offline"), ("7", "online")]),
        ],
        "typing_event": [events.typing_event(channel.pk, alice)],
        "message_event": [
            events.message_event(message, kind)
            for kind in ("message.created", "message.updated", "message.deleted")
        ],
        "membership_event": [
            events.membership_event(events.channel_detail_data(channel), joined=True),
            events.membership_event(
                events.channel_detail_data(dm, viewer_id=alice.pk), joined=False
            ),
        ],
        "channel_updated_event": [events.channel_updated_event(channel)],
        "read_event": [events.read_event(channel.pk, 3)],
        "command_done_event": [
            events.command_done_event(
                command="me",
                channel_id=channel.pk,
                message=events.message_data(message),
                client_id=message.client_id,
            ),
            events.command_done_event(
                command="topic", channel_id=channel.pk, message=None, client_id=None
            ),
        ],
        "mention_event": [
            events.mention_event(message, "user", alert=True),
            events.mention_event(message, "dm", alert=False),
        ],
    }
    built["welcome_event"].append(
        events.welcome_event(
            alice,
            [(channel_id, "general", 3), (str(dm.pk), dm.name, 0)],
            30,
            dm_members={str(dm.pk): [events.author_data(alice), events.author_data(bob)]},
        )
    )
    assert set(built) == builder_names()  # a new builder needs its case here
    for event in (event for events_of_builder in built.values() for event in events_of_builder):
        assert asyncapi.problems(event) == []
    sent_types = {event["type"] for built_events in built.values() for event in built_events}
    assert sent_types == set(asyncapi.validators("send"))  # and every message has a builder


def test_an_event_the_document_does_not_describe_is_a_problem() -> None:
    assert asyncapi.problems({"type": "pong"}) == []
    assert asyncapi.problems({"type": "pong", "channels": {}, "extra": 1})
    assert asyncapi.problems({"type": "presence", "user_id": "1", "status": "away"})
    assert asyncapi.problems(
        {"type": "subscribed", "channel_id": str(uuid.uuid4()), "last_seq": 1, "has_more": True}
    )
    assert asyncapi.problems({"type": "nonsense"}) == [
        "no message of type 'nonsense' in asyncapi.yaml"
    ]
