"""Incoming webhooks and bot tokens on two live Daphne processes (docs/integrations.md): a
hook's message posted on one reaches a member's socket on the other, a large body is refused,
and neither token reaches the servers' logs."""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chatsite import rls
from integrations import services
from tests.integration.test_ws_live import TIMEOUT, of_type, open_ws, receive_until, subscribe

pytestmark = pytest.mark.live


def _make_hook(alice: Any, channel: Any) -> str:
    with rls.acting_as_user(alice):
        _, token = services.hook_create(actor=alice, channel_id=channel.pk, name="Alerts")
    return token


def _make_bot_token(moderator: Any) -> str:
    with rls.acting_as_user(moderator):
        bot = services.bot_create(actor=moderator, username="live-bot", display_name="Live")
        _, token = services.bot_token_create(actor=moderator, bot=bot)
    return token


def _request(server: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


async def test_hook_message_on_one_process_reaches_a_member_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    token = await database_sync_to_async(_make_hook)(alice, channel)
    listener = await open_ws(server_b, alice)
    await subscribe(listener, channel)

    payload = {"text": "disk at 91% on db-1", "username": "Monitoring", "icon_emoji": ":fire:"}
    status, body = await asyncio.to_thread(
        _request,
        server_a,
        f"/api/hooks/{token}/",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
    )
    assert (status, body) == (200, b"ok")
    created, _ = await receive_until(listener, of_type("message.created"))
    message = created["message"]
    assert message["content"] == "disk at 91% on db-1"
    assert message["author"]["is_bot"] is True
    assert message["author"]["display_name"] == "Monitoring"
    assert message["icon_emoji"] == "🔥"
    await listener.close()

    # Daphne buffers a body before the application sees it; chatsite.body_limit refuses it
    # by its Content-Length before Django reads it (nginx, in deploy/, before it is sent on).
    ten_megabytes = json.dumps({"text": "x" * (10 * 1024 * 1024)}).encode()
    status, answer = await asyncio.to_thread(
        _request,
        server_a,
        f"/api/hooks/{token}/",
        ten_megabytes,
        {"Content-Type": "application/json"},
    )
    assert status == 413
    assert json.loads(answer)["error"]["code"] == "too_large"

    for server in daphne_servers:
        assert token not in server.log()
        assert token[4:24] not in server.log()


async def test_bot_token_posts_on_one_process_and_a_member_hears_it_on_the_other(
    daphne_servers: list[Any], daphne: Any, alice: Any, moderator: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    token = await database_sync_to_async(_make_bot_token)(moderator)
    listener = await open_ws(server_b, alice)
    await subscribe(listener, channel)
    status, body = await asyncio.to_thread(
        _request,
        server_a,
        "/api/chat/messages/",
        json.dumps({"channel_id": str(channel.pk), "content": "from the bot"}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status == 201, body
    created, _ = await receive_until(listener, of_type("message.created"))
    assert created["message"]["author"]["username"] == "live-bot"
    assert created["message"]["author"]["is_bot"] is True
    await listener.close()

    forged = await asyncio.to_thread(
        _request,
        server_a,
        "/api/chat/messages/",
        json.dumps({"channel_id": str(channel.pk), "content": "forged"}).encode(),
        {"Content-Type": "application/json", "Authorization": "Bearer csb_forged"},
    )
    assert forged[0] == 401
    for server in daphne_servers:
        assert token not in server.log()
