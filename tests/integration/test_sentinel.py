"""Redis through Sentinel, live: two Daphne processes find their Redis by asking a sentinel.

A private redis-server and a ``redis-server --sentinel`` watching it as ``chatsite-main``
(tests/topology.py); the processes get ``REDIS_SENTINELS`` and a ``REDIS_URL`` whose host part
is the master's name, and nothing else that points at Redis (docs/operations.md, "Redis
Sentinel"). The channel layer, the presence counters and the cache all reach that server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from redis import Redis
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from chat.events import channel_group
from tests import live
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.ws_support import access_token
from tests.private_services import PrivateRedis
from tests.topology import Sentinel

pytestmark = [pytest.mark.live, pytest.mark.outage]

TIMEOUT = 10.0
MASTER = "chatsite-main"


@dataclass
class SentinelStack:
    redis: PrivateRedis
    sentinel: Sentinel
    servers: list[live.LiveServer]
    prefix: str


@pytest.fixture(scope="module")
def sentinel_stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SentinelStack]:
    log_dir = tmp_path_factory.mktemp("sentinel")
    redis = PrivateRedis(log_dir)
    sentinel: Sentinel | None = None
    servers: list[live.LiveServer] = []
    prefix = f"sentinel-{uuid.uuid4().hex[:8]}"
    try:
        redis.start()
        sentinel = Sentinel(master=MASTER, master_port=redis.port)
        sentinel.start()
        with django_db_blocker.unblock():
            database_url = live.database_url_for(connection.settings_dict)
        env = live.server_environment(
            database_url=database_url,
            redis_url=f"redis://{MASTER}/0",
            prefix=prefix,
            extra={"REDIS_SENTINELS": sentinel.address},
        )
        servers = live.start_servers(2, log_dir=log_dir, env=env)
        yield SentinelStack(redis, sentinel, servers, prefix)
    finally:
        live.stop_servers(servers)
        if sentinel is not None:
            sentinel.stop()
        redis.kill()


@database_sync_to_async
def room() -> tuple[Any, Any, Any]:
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    channel = ChannelFactory.create(name="general", created_by=alice)
    for user in (alice, bob):
        MembershipFactory.create(channel=channel, user=user)
    return alice, bob, channel


async def test_layer_presence_and_cache_reach_redis_through_the_sentinel(
    sentinel_stack: SentinelStack, transactional_db: None
) -> None:
    alice, bob, channel = await room()
    server_a, server_b = sentinel_stack.servers
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(bob)}")]
    async with connect(server_b.ws_url, subprotocols=protocols, open_timeout=TIMEOUT) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert welcome["type"] == "welcome", welcome
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{server_a.url}/api/chat/messages",
                json={"channel_id": str(channel.pk), "content": "via the sentinel"},
                headers={"Authorization": f"Bearer {access_token(alice)}"},
            ) as response:
                assert response.status == 201, await response.text()
            async with http.get(f"{server_a.url}/readyz") as response:
                assert response.status == 200, await response.text()
        async with asyncio.timeout(TIMEOUT):
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "message.created":
                    assert event["message"]["content"] == "via the sentinel"
                    break

        # The master the sentinel named holds the cache's rate counter of alice's post, the
        # presence entry of bob's open socket and the layer's subscription for the channel.
        client = Redis.from_url(sentinel_stack.redis.url)
        try:
            assert client.keys(f"*rate:message:{alice.pk}:*")
            assert client.exists(f"{sentinel_stack.prefix}:presence:{bob.pk}")
            group = f"{sentinel_stack.prefix}__group__{channel_group(channel.pk)}"
            assert client.pubsub_numsub(group) == [(group.encode(), 1)]
        finally:
            client.close()
    for server in sentinel_stack.servers:
        assert '"status": 500' not in server.log()
