"""One message budget per user (CHAT_MESSAGE_RATE) across REST, WebSocket sockets and the web
form, and across processes: the counter lives in Redis (chatsite.ratelimit)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.test import APIClient

from chat.models import Message
from tests.contract.conftest import bearer
from tests.integration.ws_support import (
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_until,
    token_protocols,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


async def _socket(user: Any) -> Any:
    ws = communicator(protocols=token_protocols(user))
    connected, _ = await ws.connect()
    assert connected
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome"
    return ws


async def _ws_send(ws: Any, channel: Any, content: str) -> dict[str, Any]:
    """Send one message; the ``ack`` or the ``error`` that answers it."""
    await ws.send_json_to(
        {"type": "message.send", "channel_id": str(channel.pk), "content": content}
    )
    event, _ = await receive_until(ws, lambda e: e["type"] in {"ack", "error"})
    return event


async def test_rest_websockets_and_the_web_form_spend_one_message_budget(
    settings: Any, alice: Any, channel: Any
) -> None:
    settings.CHAT_MESSAGE_RATE = "5/hour"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=await database_sync_to_async(bearer)(alice))
    page = Client()
    await database_sync_to_async(page.force_login)(alice)
    first, second = await _socket(alice), await _socket(alice)

    def rest_post(content: str) -> Any:
        body = {"channel_id": str(channel.pk), "content": content}
        return api.post("/api/chat/messages", body, format="json")

    def form_post(content: str) -> Any:
        return page.post(f"/channels/{channel.name}/", {"content": content})

    assert (await database_sync_to_async(rest_post)("rest 1")).status_code == 201
    assert (await _ws_send(first, channel, "socket 1"))["type"] == "ack"
    assert (await _ws_send(second, channel, "socket 2"))["type"] == "ack"
    assert (await database_sync_to_async(form_post)("form 1")).status_code == 302
    assert (await database_sync_to_async(rest_post)("rest 2")).status_code == 201

    # The budget of 5 is spent, whichever door comes next.
    refused = await database_sync_to_async(rest_post)("rest 3")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    for ws in (first, second):
        error = await _ws_send(ws, channel, "socket again")
        assert error["type"] == "error"
        assert error["code"] == "rate_limited"
    form = await database_sync_to_async(form_post)("form 2")
    assert form.status_code == 429
    assert 1 <= int(form["Retry-After"]) <= 3600
    assert "Too many messages" in form.content.decode()

    stored = await database_sync_to_async(
        lambda: sorted(Message.objects.filter(user=alice).values_list("content", flat=True))
    )()
    assert stored == ["form 1", "rest 1", "rest 2", "socket 1", "socket 2"]
    for ws in (first, second):
        await ws.disconnect()


def _post(url: str, token: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.live
async def test_two_processes_count_one_budget(
    daphne_servers: list[Any], daphne: Any, alice: Any, channel: Any
) -> None:
    """The live servers run with the default 120/min: 130 posts spread over two processes
    get exactly 120 through."""
    from django.conf import settings

    allowed = int(settings.CHAT_MESSAGE_RATE.split("/")[0])
    if time.time() % 60 > 40:  # all posts in one fixed window of the minute
        await asyncio.sleep(60 - time.time() % 60)
    token = (await database_sync_to_async(bearer)(alice)).removeprefix("Bearer ")
    urls = [f"{server.url}/api/chat/messages" for server in daphne_servers]

    def send(number: int) -> int:
        body = {"channel_id": str(channel.pk), "content": f"m{number}"}
        return _post(urls[number % 2], token, body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = await asyncio.to_thread(lambda: list(pool.map(send, range(allowed + 10))))
    assert statuses.count(201) == allowed
    assert statuses.count(429) == 10
    count = await database_sync_to_async(Message.objects.filter(user=alice).count)()
    assert count == allowed
