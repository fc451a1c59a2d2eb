"""An open socket never keeps a right its user lost (chat.keepalive's heartbeat re-check).

Every change here is made straight in the database, not through the services, so no layer
event tells the socket: only the re-check can, and it must within one heartbeat.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import override_settings

from accounts.models import User
from chat import consumers
from chat.models import Membership
from tests.factories import ChannelFactory, MembershipFactory
from tests.integration.test_ws_consumer import connect, post
from tests.integration.ws_support import (
    SITE_HOST,
    SITE_ORIGIN,
    close_code,
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    receive_until,
    session_cookie,
)

HEARTBEAT = 1
WITHIN_A_HEARTBEAT = HEARTBEAT + 2.0  # plus the re-check's own queries, on a busy machine

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


@pytest.fixture(autouse=True)
def fast_heartbeat() -> Any:
    with override_settings(HEARTBEAT_SECONDS=HEARTBEAT):
        yield


async def connect_with_cookie(user: Any) -> Any:
    cookie = await database_sync_to_async(session_cookie)(user)
    ws = communicator(headers=[SITE_HOST, SITE_ORIGIN, (b"cookie", cookie)])
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=5))["type"] == "welcome"
    return ws, cookie


def update_user(user: Any, **fields: Any) -> None:
    User.objects.filter(pk=user.pk).update(**fields)


async def test_deactivated_in_the_database_closes_with_4403(bob: Any) -> None:
    ws = await connect(bob)
    await database_sync_to_async(update_user)(bob, is_active=False)
    error = await receive_type(ws, "error", timeout=WITHIN_A_HEARTBEAT)
    assert error["code"] == "forbidden"
    assert await close_code(ws) == consumers.CLOSE_FORBIDDEN


async def test_demoted_moderator_stops_reading_a_private_channel(
    alice: Any, moderator: Any, private_channel: Any
) -> None:
    ws = await connect(moderator)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(private_channel.pk)})
    await receive_type(ws, "subscribed")
    await post(alice, private_channel, "still for the moderator")
    assert (await receive_type(ws, "message.created"))["seq"] == 1

    await database_sync_to_async(update_user)(moderator, role="member")
    unsubscribed = await receive_type(ws, "unsubscribed", timeout=WITHIN_A_HEARTBEAT)
    assert unsubscribed["channel_id"] == str(private_channel.pk)
    await post(alice, private_channel, "members only now")
    await ws.send_json_to({"type": "subscribe", "channel_id": str(private_channel.pk)})
    error, between = await receive_until(ws, lambda e: e["type"] == "error")
    assert error["code"] == "not_found"
    assert "members only now" not in str(between)
    await ws.disconnect()


async def test_removed_from_a_private_channel_stops_reading_it(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=private_channel, user=bob)
    ws = await connect(bob)
    await database_sync_to_async(
        lambda: Membership.objects.filter(channel=private_channel, user=bob).delete()
    )()
    unsubscribed = await receive_type(ws, "unsubscribed", timeout=WITHIN_A_HEARTBEAT)
    assert unsubscribed["channel_id"] == str(private_channel.pk)
    await post(alice, private_channel, "after bob left")
    await ws.send_json_to({"type": "ping"})
    _, between = await receive_until(ws, lambda e: e["type"] == "pong")
    assert "after bob left" not in str(between)
    await ws.disconnect()


async def test_leaving_a_public_channel_unsubscribes_like_the_layer_event(
    alice: Any, bob: Any
) -> None:
    public = await database_sync_to_async(ChannelFactory.create)()
    await database_sync_to_async(MembershipFactory.create)(channel=public, user=bob)
    ws = await connect(bob)
    await database_sync_to_async(
        lambda: Membership.objects.filter(channel=public, user=bob).delete()
    )()
    unsubscribed = await receive_type(ws, "unsubscribed", timeout=WITHIN_A_HEARTBEAT)
    assert unsubscribed["channel_id"] == str(public.pk)
    await ws.disconnect()


async def test_a_subscribed_public_channel_stays_when_nothing_changed(
    alice: Any, bob: Any, channel: Any
) -> None:
    ws = await connect(bob)
    await ws.send_json_to({"type": "subscribe", "channel_id": str(channel.pk)})
    await receive_type(ws, "subscribed")
    # Two heartbeats' re-checks pass; the subscription and the socket stay.
    await ws.receive_nothing(timeout=2 * HEARTBEAT + 0.5)
    await post(alice, channel, "still here")
    assert (await receive_type(ws, "message.created"))["message"]["content"] == "still here"
    await ws.disconnect()


async def test_logged_out_session_closes_its_socket_with_4401(alice: Any) -> None:
    ws, cookie = await connect_with_cookie(alice)
    session_key = cookie.decode().split("=", 1)[1]
    await database_sync_to_async(lambda: Session.objects.filter(pk=session_key).delete())()
    error = await receive_type(ws, "error", timeout=WITHIN_A_HEARTBEAT)
    assert error["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_password_change_closes_cookie_sockets_with_4401(alice: Any) -> None:
    ws, _cookie = await connect_with_cookie(alice)

    def change_password() -> None:
        user = User.objects.get(pk=alice.pk)
        user.set_password("a whole new secret")
        user.save(update_fields=["password"])

    await database_sync_to_async(change_password)()
    error = await receive_type(ws, "error", timeout=WITHIN_A_HEARTBEAT)
    assert error["code"] == "unauthorized"
    assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_a_valid_cookie_socket_survives_the_re_checks(alice: Any) -> None:
    ws, _cookie = await connect_with_cookie(alice)
    await ws.receive_nothing(timeout=2 * HEARTBEAT + 0.5)
    await ws.send_json_to({"type": "ping"})
    assert await receive_type(ws, "pong") == {"type": "pong"}
    await ws.disconnect()
