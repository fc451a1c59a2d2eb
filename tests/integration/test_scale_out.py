"""The scale-out topology of docs/operations.md ("Scaling out"), live, on its own ports.

Three Daphne processes (``--proxy-headers``, as the image runs them) behind nginx, the
channel layer sharded over two private redis-servers (``CHANNEL_LAYER_REDIS_URLS``), and
PostgreSQL reached through PgBouncer in transaction mode (``DATABASE_POOL=0``,
``DATABASE_TRANSACTION_POOLING=1``, a server pool of two connections, so requests of
different users share server connections all the time). Metrics in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``). What the tests hold:

- a message posted through one process reaches sockets on the other two, for channels whose
  groups live on either shard;
- a client that reconnects through the proxy (to whichever process) resumes by since_seq;
- row-level security holds through the transaction pooler under concurrent users;
- a shard restarted while messages are posted loses nothing a client can see: live events
  stop for that shard's channels, /readyz says so, and every client recovers every change by
  seq; live events flow again once it is back;
- ``/metrics`` of any one process answers for all three, under load, and only to allowed
  scrapers (never through the proxy).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from channels.db import database_sync_to_async
from channels_redis.utils import _consistent_hash
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from chat.events import channel_group
from tests import live
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_ws_live import receive_until
from tests.integration.ws_support import access_token
from tests.private_services import PrivateRedis
from tests.topology import Nginx, PgBouncer

pytestmark = [pytest.mark.live, pytest.mark.outage]

TIMEOUT = 10.0
RECOVERY_TIMEOUT = 20.0
METRICS_TOKEN = secrets.token_urlsafe(32)
AUTH_RATE = 3
FAILURE_MARKERS = ('"status": 500', '"code": 500', "request_failed", "Exception inside application")


@dataclass
class Topology:
    servers: list[live.LiveServer]
    nginx: Nginx
    pgbouncer: PgBouncer
    shards: list[PrivateRedis]
    prefix: str

    def upstream(self, address: str) -> live.LiveServer:
        """The Daphne process behind an ``X-Upstream`` value (``127.0.0.1:<port>``)."""
        port = int(address.rsplit(":", 1)[1])
        return next(server for server in self.servers if server.port == port)

    def shard_of(self, channel: Any) -> int:
        """Which shard carries the channel's group (channels-redis: CRC32 of its name)."""
        name = f"{self.prefix}__group__{channel_group(channel.pk)}"
        return _consistent_hash(name, len(self.shards))

    def assert_no_failure(self) -> None:
        for server in self.servers:
            log = server.log()
            found = [marker for marker in FAILURE_MARKERS if marker in log]
            assert not found, log[-5000:]


@pytest.fixture(scope="module")
def topology(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    log_dir = tmp_path_factory.mktemp("scale-out")
    metrics_dir = tmp_path_factory.mktemp("metrics")
    shards = [PrivateRedis(log_dir) for _ in range(2)]
    with django_db_blocker.unblock():
        database = dict(connection.settings_dict)
    pgbouncer = PgBouncer(
        database=database["NAME"],
        server_host=database.get("HOST") or "127.0.0.1",
        server_port=int(database.get("PORT") or 5432),
        users=[settings.DATABASE_APP_ROLE],
        pool_size=2,
    )
    prefix = f"scale-{uuid.uuid4().hex[:8]}"
    servers: list[live.LiveServer] = []
    nginx: Nginx | None = None
    try:
        for shard in shards:
            shard.start()
        pgbouncer.start()
        env = live.server_environment(
            database_url=pgbouncer.url(settings.DATABASE_APP_ROLE),
            redis_url=shards[0].url,
            prefix=prefix,
            extra={
                "CHANNEL_LAYER_REDIS_URLS": ",".join(shard.url for shard in shards),
                "DATABASE_POOL": "0",
                "DATABASE_TRANSACTION_POOLING": "1",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "METRICS_TOKEN": METRICS_TOKEN,
                "CHAT_AUTH_RATE": f"{AUTH_RATE}/min",
                # Only the rate limit answers 429 to the metrics test's failed logins.
                "AXES_FAILURE_LIMIT": "100",
            },
        )
        servers = live.start_servers(3, log_dir=log_dir, env=env, proxy_headers=True)
        nginx = Nginx([server.port for server in servers])
        nginx.start()
        yield Topology(servers, nginx, pgbouncer, shards, prefix)
    finally:
        if nginx is not None:
            nginx.stop()
        live.stop_servers(servers)
        pgbouncer.stop()
        for shard in shards:
            shard.kill()


# --- clients ---------------------------------------------------------------------------------


@dataclass
class Socket:
    ws: ClientConnection
    server: live.LiveServer
    user: Any


async def open_socket(url: str, topology: Topology, user: Any) -> Socket:
    """A token WebSocket at ``url`` (the proxy or one process), past its welcome."""
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(user)}")]
    ws = await connect(url, subprotocols=protocols, open_timeout=TIMEOUT)
    upstream = ws.response.headers.get("X-Upstream") if ws.response else None
    server = topology.upstream(upstream) if upstream else topology.servers[0]
    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert welcome["type"] == "welcome", welcome
    return Socket(ws, server, user)


async def sockets_on_every_process(topology: Topology, users: list[Any]) -> list[Socket]:
    """Sockets opened through nginx (round robin) until each process holds at least one."""
    sockets: list[Socket] = []
    for user in itertools.islice(itertools.cycle(users), 12):
        sockets.append(await open_socket(topology.nginx.ws_url, topology, user))
        if {socket.server.port for socket in sockets} == {s.port for s in topology.servers}:
            return sockets
    raise AssertionError(f"nginx did not spread sockets: {[s.server.port for s in sockets]}")


def created_with(content: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "message.created" and e["message"]["content"] == content


async def post(
    http: aiohttp.ClientSession, base: str, user: Any, channel: Any, content: str
) -> tuple[int, dict[str, Any], str]:
    """POST /api/chat/messages; (status, body, the process that answered)."""
    async with http.post(
        f"{base}/api/chat/messages",
        json={"channel_id": str(channel.pk), "content": content},
        headers={"Authorization": f"Bearer {access_token(user)}"},
    ) as response:
        return response.status, await response.json(), response.headers.get("X-Upstream", "")


async def get(
    http: aiohttp.ClientSession, url: str, user: Any | None = None, **headers: str
) -> tuple[int, str]:
    if user is not None:
        headers["Authorization"] = f"Bearer {access_token(user)}"
    async with http.get(url, headers=headers) as response:
        return response.status, await response.text()


def members(channel: Any, users: list[Any]) -> None:
    for user in users:
        MembershipFactory.create(channel=channel, user=user)


@database_sync_to_async
def room_set_up(topology: Topology, count: int) -> tuple[Any, list[Any], list[Any]]:
    """alice, three readers, and ``count`` public channels of all four (more if that many
    do not yet put a group on each shard; committed)."""
    alice = UserFactory.create(username="alice")
    readers = [UserFactory.create() for _ in range(3)]
    channels = [ChannelFactory.create(name=f"room-{n}", created_by=alice) for n in range(count)]
    while count > 1 and {topology.shard_of(channel) for channel in channels} != {0, 1}:
        channels.append(ChannelFactory.create(name=f"room-{len(channels)}", created_by=alice))
    for channel in channels:
        members(channel, [alice, *readers])
    return alice, readers, channels


@database_sync_to_async
def private_set_up() -> tuple[Any, list[Any], list[Any], Any]:
    """alice and carol in a public channel, and a private one of alice alone (committed)."""
    alice, carol = UserFactory.create(username="alice"), UserFactory.create(username="carol")
    general = ChannelFactory.create(name="general", created_by=alice)
    members(general, [alice, carol])
    secret = ChannelFactory.create(name="secret", is_private=True, created_by=alice)
    MembershipFactory.create(channel=secret, user=alice, role="owner")
    return alice, [carol], [general], secret


# --- tests -----------------------------------------------------------------------------------


async def test_a_post_through_one_process_reaches_sockets_on_the_other_two_on_both_shards(
    topology: Topology, transactional_db: None
) -> None:
    alice, readers, channels = await room_set_up(topology, count=6)
    sockets = await sockets_on_every_process(topology, readers)
    async with aiohttp.ClientSession() as http:
        for channel in channels:
            content = f"to every process in {channel.name}"
            status, body, upstream = await post(http, topology.nginx.url, alice, channel, content)
            assert status == 201, body
            poster = topology.upstream(upstream)
            for socket in sockets:
                event, _ = await receive_until(socket.ws, created_with(content))
                assert event["message"]["channel_id"] == str(channel.pk)
            # The other two processes got it through Redis, not from the poster's memory.
            assert {s.server.port for s in sockets} - {poster.port}

        # Each process subscribed to the groups on the shard that carries them.
        for index, shard in enumerate(topology.shards):
            client = Redis.from_url(shard.url)
            try:
                subscribed = client.pubsub_channels(f"{topology.prefix}__group__chat.channel.*")
            finally:
                client.close()
            expected = {
                f"{topology.prefix}__group__{channel_group(c.pk)}".encode()
                for c in channels
                if topology.shard_of(c) == index
            }
            assert expected and expected <= set(subscribed)

        # A frame sent on a socket of one process reaches the sockets of the others too.
        sender = sockets[0]
        await sender.ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "channel_id": str(channels[0].pk),
                    "content": "over a socket",
                    "client_id": str(uuid.uuid4()),
                }
            )
        )
        for socket in sockets:
            await receive_until(socket.ws, created_with("over a socket"))
    for socket in sockets:
        await socket.ws.close()
    topology.assert_no_failure()


async def test_a_client_that_reconnects_through_the_proxy_resumes_by_since_seq(
    topology: Topology, transactional_db: None
) -> None:
    alice, [bob, *_], [channel] = await room_set_up(topology, count=1)
    async with aiohttp.ClientSession() as http:
        status, body, _ = await post(http, topology.nginx.url, alice, channel, "before")
        assert status == 201, body
        first = await open_socket(topology.nginx.ws_url, topology, bob)
        await first.ws.send(json.dumps({"type": "subscribe", "channel_id": str(channel.pk)}))
        subscribed, _ = await receive_until(first.ws, lambda e: e["type"] == "subscribed")
        since_seq = subscribed["last_seq"]
        await first.ws.close()

        missed = [f"missed {n}" for n in range(5)]
        for content in missed:  # each through whichever process nginx picks
            status, body, _ = await post(http, topology.nginx.url, alice, channel, content)
            assert status == 201, body

    # The next connections land on the other processes: each resumes exactly from since_seq.
    for _ in range(2):
        again = await open_socket(topology.nginx.ws_url, topology, bob)
        await again.ws.send(
            json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": since_seq})
        )
        subscribed, replayed = await receive_until(again.ws, lambda e: e["type"] == "subscribed")
        assert [e["message"]["content"] for e in replayed] == missed
        assert [e["seq"] for e in replayed] == list(range(since_seq + 1, since_seq + 6))
        assert subscribed["last_seq"] == since_seq + 5
        await again.ws.close()
    topology.assert_no_failure()


async def test_row_level_security_holds_through_the_transaction_pooler(
    topology: Topology, transactional_db: None
) -> None:
    alice, [carol], [general], secret = await private_set_up()

    carols = await sockets_on_every_process(topology, [carol])
    base = topology.nginx.url
    messages_url = f"{base}/api/chat/messages?channel_id={secret.pk}"
    async with aiohttp.ClientSession() as http:

        async def alice_posts(n: int) -> int:
            return (await post(http, base, alice, secret, f"secret {n}"))[0]

        async def alice_reads() -> tuple[int, str]:
            return await get(http, messages_url, alice)

        async def carol_reads() -> tuple[int, str]:
            return await get(http, messages_url, carol)

        async def carol_lists() -> tuple[int, str]:
            return await get(http, f"{base}/api/chat/channels/", carol)

        # Both users at once, over two server connections: every transaction carries its
        # own user's context, so none of carol's sees a row of the private channel.
        work: list[Any] = []
        for n in range(12):
            work += [alice_posts(n), alice_reads(), carol_reads(), carol_lists()]
        results = await asyncio.gather(*work)
        posts, alice_views, carol_views, carol_lists_ = (results[i::4] for i in range(4))
        assert posts == [201] * 12
        assert all(status == 200 for status, _ in alice_views)
        assert all(status == 404 for status, _ in carol_views), carol_views
        for status, text in carol_lists_:
            assert status == 200 and "secret" not in text and "general" in text
        status, text = await alice_reads()
        assert status == 200 and len(json.loads(text)["results"]) == 12

        # Nor does any of carol's sockets get a private event: the next event each sees is
        # the marker in the public channel, and subscribing to the secret one is refused.
        status, body, _ = await post(http, base, alice, general, "marker")
        assert status == 201, body
    for socket in carols:
        _, before = await receive_until(socket.ws, created_with("marker"))
        assert all(e.get("message", {}).get("channel_id") != str(secret.pk) for e in before)
        await socket.ws.send(json.dumps({"type": "subscribe", "channel_id": str(secret.pk)}))
        refused, _ = await receive_until(socket.ws, lambda e: e["type"] == "error")
        assert refused["code"] == "not_found", refused
        await socket.ws.close()
    topology.assert_no_failure()


async def test_a_shard_restarted_under_load_loses_nothing_clients_can_see(
    topology: Topology, transactional_db: None
) -> None:
    alice, readers, channels = await room_set_up(topology, count=4)
    restarted = topology.shards[1]  # a layer shard only: the cache is on the first one
    sockets = await sockets_on_every_process(topology, readers)
    seen: dict[int, dict[str, set[int]]] = {
        id(s): {str(c.pk): set() for c in channels} for s in sockets
    }
    done = asyncio.Event()

    async def listen(socket: Socket) -> None:
        while True:
            try:
                event = json.loads(await asyncio.wait_for(socket.ws.recv(), 0.5))
            except TimeoutError:
                if done.is_set():
                    return
                continue
            if event["type"] == "message.created":
                seen[id(socket)][event["message"]["channel_id"]].add(event["seq"])

    listeners = [asyncio.create_task(listen(socket)) for socket in sockets]
    posted = 0
    async with aiohttp.ClientSession() as http:

        async def post_round(label: str) -> None:
            nonlocal posted
            statuses = await asyncio.gather(
                *(post(http, topology.nginx.url, alice, c, f"{label} {c.name}") for c in channels)
            )
            assert [s for s, _, _ in statuses] == [201] * len(channels), statuses
            posted += 1

        for n in range(5):
            await post_round(f"before {n}")
        restarted.kill()
        try:
            for n in range(5):  # stored and answered 201; the live events of one shard are lost
                await post_round(f"while away {n}")
            status, text = await get(http, f"{topology.servers[0].url}/readyz")
            assert status == 503 and json.loads(text)["failing"] == ["channel_layer"], text
        finally:
            restarted.start()
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while (await get(http, f"{topology.servers[0].url}/readyz"))[0] != 200:
            assert time.monotonic() < deadline, "readyz did not recover"
            await asyncio.sleep(0.2)
        for n in range(5):
            await post_round(f"after {n}")

        # Live events flow again on the restarted shard's channels (the pub/sub connections
        # resubscribe when they reconnect): a post there reaches a socket on every process.
        back = next(c for c in channels if topology.shard_of(c) == 1)
        while True:
            before = {id(s): set(seen[id(s)][str(back.pk)]) for s in sockets}
            await post_round("probe")
            await asyncio.sleep(1)
            if all(seen[id(s)][str(back.pk)] - before[id(s)] for s in sockets):
                break
            assert time.monotonic() < deadline + RECOVERY_TIMEOUT, "no live events on the shard"
    done.set()
    await asyncio.gather(*listeners)

    # The live events of the restarted shard's channels posted while it was away are lost
    # (the pub/sub layer is at most once) ...
    lost = [
        (id(socket), channel.pk)
        for socket in sockets
        for channel in channels
        if set(range(1, posted + 1)) - seen[id(socket)][str(channel.pk)]
    ]
    assert lost
    # ... and every client recovers every change by seq, from the last seq it saw without a gap.
    for socket in sockets:
        for channel in channels:
            got = seen[id(socket)][str(channel.pk)]
            contiguous = next(seq for seq in itertools.count(1) if seq not in got) - 1
            await socket.ws.send(
                json.dumps(
                    {"type": "subscribe", "channel_id": str(channel.pk), "since_seq": contiguous}
                )
            )
            subscribed, replayed = await receive_until(
                socket.ws, lambda e: e["type"] == "subscribed"
            )
            got |= {e["seq"] for e in replayed if e["type"] == "message.created"}
            assert subscribed["last_seq"] == posted
            assert got == set(range(1, posted + 1)), (channel.name, sorted(got))
        await socket.ws.close()
    topology.assert_no_failure()


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict[tuple[str, Any], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def test_metrics_answer_for_every_process_under_load_and_only_to_allowed_scrapers(
    topology: Topology, transactional_db: None
) -> None:
    alice, readers, [channel] = await room_set_up(topology, count=1)
    direct = topology.servers[1].url + "/metrics"

    async with aiohttp.ClientSession() as http:
        status, text = await get(http, direct)  # from loopback: allowed
        assert status == 200, text
        before = scrape(text)

        sockets = await sockets_on_every_process(topology, readers)
        sockets += await sockets_on_every_process(topology, readers)
        contents = [f"load {n}" for n in range(20)]

        async def load() -> None:
            for content in contents:
                status, body, _ = await post(http, topology.nginx.url, alice, channel, content)
                assert status == 201, body

        async def scrape_during_load() -> dict[Any, float]:
            await asyncio.sleep(0.3)
            status, text = await get(http, direct)
            assert status == 200
            return scrape(text)

        _, during = await asyncio.gather(load(), scrape_during_load())
        assert total(during, "chatsite_websockets_open") == len(sockets)
        for socket in sockets:
            await receive_until(socket.ws, created_with(contents[-1]))
        # One resume, and a few failed logins past the per-address limit (one refused).
        await sockets[0].ws.send(
            json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 0})
        )
        await receive_until(sockets[0].ws, lambda e: e["type"] == "subscribed")
        # The limit counts in fixed one-minute windows: of 2 x (AUTH_RATE + 1) attempts within
        # a minute, one window holds more than AUTH_RATE, whichever minute boundary falls
        # between them.
        statuses = []
        for _ in range(2 * (AUTH_RATE + 1)):
            async with http.post(
                f"{topology.nginx.url}/api/auth/token/",
                json={"username": "alice", "password": "not-it"},
            ) as response:
                statuses.append(response.status)
            if response.status == 429:
                break
        assert statuses[-1] == 429, statuses
        assert set(statuses) <= {401, 429}

        status, text = await get(http, direct)
        assert status == 200
        after = scrape(text)

        def grew(name: str, **labels: str) -> float:
            return total(after, name, **labels) - total(before, name, **labels)

        posts = grew(
            "chatsite_http_request_duration_seconds_count",
            method="POST",
            route="api/chat/messages",
            status="201",
        )
        assert posts == len(contents)
        # Every post reached every socket, whichever process holds it.
        assert grew("chatsite_ws_deliveries_total") >= len(contents) * len(sockets)
        assert grew("chatsite_ws_replayed_events_total") == len(contents)
        assert grew("chatsite_layer_publish_duration_seconds_count") >= len(contents)
        assert grew("chatsite_rate_limit_refusals_total", scope="auth") >= 1
        assert not total(after, "chatsite_worker_queue_depth")  # no worker yet: no samples

        for socket in sockets:
            await socket.ws.close()
        deadline = time.monotonic() + TIMEOUT
        while total(scrape((await get(http, direct))[1]), "chatsite_websockets_open"):
            assert time.monotonic() < deadline, "open sockets did not return to zero"
            await asyncio.sleep(0.1)

        # Never through the proxy; from another address only with the token.
        assert (await get(http, topology.nginx.url + "/metrics"))[0] == 404
        foreign = {"X-Forwarded-For": "203.0.113.9"}
        assert (await get(http, direct, **foreign))[0] == 404
        wrong = {**foreign, "Authorization": "Bearer " + "x" * 43}
        assert (await get(http, direct, **wrong))[0] == 404
        right = {**foreign, "Authorization": f"Bearer {METRICS_TOKEN}"}
        status, text = await get(http, direct, **right)
        assert status == 200 and "chatsite_ws_deliveries_total" in text
    topology.assert_no_failure()
