"""Redis through Sentinel, live: two Daphne processes find their Redis by asking a sentinel.

A private redis-server with a replica, and a ``redis-server --sentinel`` watching it as
``chatsite-main`` (tests/topology.py); the processes get ``REDIS_SENTINELS`` and a
``REDIS_URL`` whose host part is the master's name, and nothing else that points at Redis
(docs/operations.md, "Redis Sentinel"). The channel layer, the presence counters and the
cache all reach the master; after a failover to the replica they follow it.
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
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from chat.events import channel_group
from tests import live
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.ws_support import access_token
from tests.private_services import PrivateRedis
from tests.topology import Sentinel

pytestmark = [pytest.mark.live, pytest.mark.outage]

TIMEOUT = 10.0
RECOVERY_TIMEOUT = 30.0
MASTER = "chatsite-main"


@dataclass
class SentinelStack:
    redis: PrivateRedis
    replica: PrivateRedis
    sentinel: Sentinel
    servers: list[live.LiveServer]
    prefix: str


@pytest.fixture(scope="module")
def sentinel_stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SentinelStack]:
    log_dir = tmp_path_factory.mktemp("sentinel")
    redis = PrivateRedis(log_dir)
    replica = PrivateRedis(log_dir, "--replicaof", "127.0.0.1", str(redis.port))
    sentinel: Sentinel | None = None
    servers: list[live.LiveServer] = []
    prefix = f"sentinel-{uuid.uuid4().hex[:8]}"
    try:
        redis.start()
        replica.start()
        sentinel = Sentinel(master=MASTER, master_port=redis.port)
        sentinel.start()
        with django_db_blocker.unblock():
            database_url = live.database_url_for(connection.settings_dict)
        env = live.server_environment(
            database_url=database_url,
            redis_url=f"redis://{MASTER}/0",
            prefix=prefix,
            # Few database connections: the suite shares PostgreSQL's max_connections.
            extra={
                "REDIS_SENTINELS": sentinel.address,
                "DATABASE_POOL_MIN": "1",
                "DATABASE_POOL_MAX": "4",
            },
        )
        servers = live.start_servers(2, log_dir=log_dir, env=env)
        yield SentinelStack(redis, replica, sentinel, servers, prefix)
    finally:
        live.stop_servers(servers)
        if sentinel is not None:
            sentinel.stop()
        redis.kill()
        replica.kill()


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


async def test_after_a_failover_the_processes_follow_the_new_master(
    sentinel_stack: SentinelStack, transactional_db: None
) -> None:
    alice, bob, channel = await room()
    server_a, server_b = sentinel_stack.servers
    sentinel = Redis(host="127.0.0.1", port=sentinel_stack.sentinel.port, decode_responses=True)
    try:
        # The sentinel learns of the replica from the master's INFO (every 10 s at most).
        async with asyncio.timeout(RECOVERY_TIMEOUT):
            while not sentinel.execute_command("SENTINEL", "REPLICAS", MASTER):
                await asyncio.sleep(0.2)
        sentinel.execute_command("SENTINEL", "FAILOVER", MASTER)
        async with asyncio.timeout(RECOVERY_TIMEOUT):
            while sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) != [
                "127.0.0.1",
                str(sentinel_stack.replica.port),
            ]:
                await asyncio.sleep(0.2)
    finally:
        sentinel.close()

    # Clients reconnect and retry as the web client does; within the recovery window a post on
    # one process reaches a new socket on the other, through the new master.
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(bob)}")]
    deadline = asyncio.get_running_loop().time() + RECOVERY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while True:
            assert asyncio.get_running_loop().time() < deadline, "no delivery after the failover"
            try:
                async with connect(server_b.ws_url, subprotocols=protocols) as ws:
                    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                    if welcome["type"] != "welcome":
                        raise ConnectionError(welcome)
                    content = f"after the failover {uuid.uuid4()}"
                    async with http.post(
                        f"{server_a.url}/api/chat/messages",
                        json={"channel_id": str(channel.pk), "content": content},
                        headers={"Authorization": f"Bearer {access_token(alice)}"},
                    ) as response:
                        assert response.status == 201, await response.text()
                    async with asyncio.timeout(2):
                        while True:
                            event = json.loads(await ws.recv())
                            if event.get("message", {}).get("content") == content:
                                break
                break
            except (OSError, TimeoutError, ConnectionError, ConnectionClosed):
                await asyncio.sleep(0.5)
        async with http.get(f"{server_a.url}/readyz") as response:
            assert response.status == 200, await response.text()

        # Counts made just before the old master turned replica are gone with its resync
        # (docs/operations.md: counters start again after a failover); new ones land on the
        # new master.
        client = Redis.from_url(sentinel_stack.replica.url)  # the master now
        try:
            assert client.info("replication")["role"] == "master"
            async with asyncio.timeout(RECOVERY_TIMEOUT):
                while not client.keys(f"*rate:message:{alice.pk}:*"):
                    async with http.post(
                        f"{server_a.url}/api/chat/messages",
                        json={"channel_id": str(channel.pk), "content": "counted again"},
                        headers={"Authorization": f"Bearer {access_token(alice)}"},
                    ) as response:
                        assert response.status == 201, await response.text()
                    await asyncio.sleep(0.5)
        finally:
            client.close()
    for server in sentinel_stack.servers:
        assert '"status": 500' not in server.log()
