"""The ``mention`` event between two live Daphne processes: posted on one, heard on the other
by the mentioned user's own sockets only (docs/api.md, "Mentions")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat import services
from notifications.models import Mention
from tests import asyncapi
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_ws_live import of_type, open_ws, post, receive_until
from tests.integration.test_ws_live_conversations import _request

pytestmark = pytest.mark.live


def _checked(event: dict[str, Any]) -> dict[str, Any]:
    assert not asyncapi.problems(event), asyncapi.problems(event)
    return event


def _mention_of(message: Any) -> Any:
    return lambda event: event["type"] == "mention" and event["message"]["id"] == str(message.pk)


@database_sync_to_async
def _mentioned_users(message: Any) -> set[str]:
    return {
        mention.user.username
        for mention in Mention.objects.filter(message=message).select_related("user")
    }


async def test_a_mention_posted_on_one_process_reaches_the_user_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    bob_ws = await open_ws(server_b, bob)
    alice_ws = await open_ws(server_b, alice)
    status, sent = await asyncio.to_thread(
        _request,
        f"{server_a.url}/api/chat/messages",
        alice,
        "POST",
        {"channel_id": str(channel.pk), "content": "@bob look at this"},
    )
    assert status == 201
    event, _ = await receive_until(bob_ws, of_type("mention"))
    assert _checked(event) == {
        "type": "mention",
        "message": sent,
        "kind": "user",
        "notify": True,
    }
    # The author's own sockets hear the message, never a mention of it.
    _, before = await receive_until(alice_ws, of_type("message.created"))
    follow_up = await post(alice, channel, "and a plain one")
    _, between = await receive_until(
        alice_ws, lambda e: e.get("message", {}).get("id") == str(follow_up.pk)
    )
    assert not [e for e in before + between if e["type"] == "mention"]
    await bob_ws.close()
    await alice_ws.close()


async def test_an_edit_that_adds_a_mention_sends_it_and_muting_silences_it(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    bob_ws = await open_ws(server_a, bob)
    message = await post(alice, channel, "nobody yet")
    status, _ = await asyncio.to_thread(
        _request,
        f"{server_b.url}/api/chat/messages/{message.pk}",
        alice,
        "PATCH",
        {"content": "now @bob"},
    )
    assert status == 200
    event, _ = await receive_until(bob_ws, _mention_of(message))
    assert (event["kind"], event["notify"]) == ("user", True)

    status, body = await asyncio.to_thread(
        _request,
        f"{server_b.url}/api/chat/channels/{channel.pk}/membership/",
        bob,
        "PATCH",
        {"muted": True},
    )
    assert (status, body["muted"]) == (200, True)
    muted = await post(alice, channel, "@bob while muted")
    event, _ = await receive_until(bob_ws, _mention_of(muted))
    assert _checked(event)["notify"] is False
    assert await _mentioned_users(muted) == {"bob"}
    await bob_ws.close()


async def test_here_reaches_only_connected_members_and_private_mentions_leak_nothing(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    _server_a, server_b = daphne_servers
    carol = await database_sync_to_async(UserFactory.create)(username="carol")
    for member in (bob, carol):
        await database_sync_to_async(MembershipFactory.create)(channel=channel, user=member)
    secret = await database_sync_to_async(ChannelFactory.create)(
        name="hideout", is_private=True, created_by=alice
    )
    await database_sync_to_async(MembershipFactory.create)(channel=secret, user=alice, role="owner")
    bob_ws = await open_ws(server_b, bob)  # carol has no socket open

    here = await post(alice, channel, "@here standup")
    event, _ = await receive_until(bob_ws, _mention_of(here))
    assert _checked(event)["kind"] == "here"
    assert await _mentioned_users(here) == {"bob"}

    hidden = await post(alice, secret, "@bob is not in here")
    assert await _mentioned_users(hidden) == set()
    dm, _ = await database_sync_to_async(services.dm_open)(user=alice, user_ids=[bob.pk])
    marker = await post(alice, dm, "ping")
    event, before = await receive_until(bob_ws, _mention_of(marker))
    assert _checked(event)["kind"] == "dm"
    assert all(str(hidden.pk) not in json.dumps(e) for e in before)
    await bob_ws.close()
