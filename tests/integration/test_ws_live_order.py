"""Order and completeness under concurrency, against live Daphne pairs on both channel layers.

Real users post over REST with their access tokens and listen on WebSockets; the servers
connect as the runtime role, so row-level security applies to every write and read. Each
test runs on the pub/sub pair (``daphne_servers``, the default layer) and on the
RedisChannelLayer pair (``daphne_core_servers``). What they prove (docs/api.md, "Sequence
numbers and catching up"):

- seq order is commit order: concurrent posters through both processes get seqs 1..N with no
  gap, no snapshot of the table ever shows a later seq without every earlier one, and a
  subscriber on each process receives each ``message.created`` once, in seq order;
- a change that commits while a socket subscribes with ``since_seq`` (between its group join
  and its replay read) reaches it exactly once;
- a burst of posts over one keep-alive connection reaches subscribers on both processes in
  seq order, none missing (events go from the request threads to the loop in order).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import aiohttp
import psycopg
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection

from chat.models import Message
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_ws_live import of_type, open_ws, receive_until
from tests.integration.ws_support import access_token

pytestmark = pytest.mark.live

# Waits end as soon as what they wait for is there; these only bound a broken run.
DELIVERY_TIMEOUT = 60.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


@pytest.fixture(params=["pubsub", "core"])
def live_pair(request: pytest.FixtureRequest, transactional_db: None) -> list[Any]:
    """Two live Daphne processes on the layer named by the parameter; data must be committed."""
    name = "daphne_servers" if request.param == "pubsub" else "daphne_core_servers"
    servers: list[Any] = request.getfixturevalue(name)
    return servers


def make_room(
    posters: int, listeners: int, *, listeners_join: bool = True
) -> tuple[Any, list[Any], list[Any]]:
    """A public channel, ``posters`` members and ``listeners`` (members unless told not to:
    a member's sockets follow the channel from the start), all committed."""
    channel = ChannelFactory.create(name="general")
    posting = [UserFactory.create() for _ in range(posters)]
    listening = [UserFactory.create() for _ in range(listeners)]
    for person in posting + (listening if listeners_join else []):
        MembershipFactory.create(channel=channel, user=person)
    return channel, posting, listening


class Poster:
    """One user's REST client: a keep-alive session (one connection) with their token."""

    def __init__(self, server: Any, user: Any, channel: Any) -> None:
        self.url = f"{server.url}/api/chat/messages"
        self.channel_id = str(channel.pk)
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {access_token(user)}"},
            connector=aiohttp.TCPConnector(limit=1),
            timeout=HTTP_TIMEOUT,
        )

    async def post(self, content: str) -> dict[str, Any]:
        body = {"channel_id": self.channel_id, "content": content}
        async with self.session.post(self.url, json=body) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == 201, answer
            return answer

    async def close(self) -> None:
        await self.session.close()


async def subscribed_socket(server: Any, user: Any, channel: Any) -> ClientConnection:
    ws = await open_ws(server, user)
    await ws.send(json.dumps({"type": "subscribe", "channel_id": str(channel.pk)}))
    await receive_until(ws, of_type("subscribed"))
    return ws


async def created_seqs(ws: ClientConnection, count: int) -> list[tuple[int, str]]:
    """(seq, message id) of every ``message.created`` the socket receives, in arrival order,
    until ``count`` distinct seqs are in (a duplicate or a reordering stays in the list)."""
    seen: list[tuple[int, str]] = []
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        while len({seq for seq, _ in seen}) < count:
            event = json.loads(await ws.recv())
            if event["type"] == "message.created":
                seen.append((event["seq"], event["message"]["id"]))
    return seen


class SnapshotObserver:
    """Reads the channel's visible seqs again and again as the runtime role (with RLS, as a
    member), each read its own snapshot. If a later seq ever committed before an earlier one,
    some snapshot would show it without the earlier one: every snapshot must be 1..k."""

    def __init__(self, channel: Any, reader: Any) -> None:
        self.channel_id = str(channel.pk)
        self.reader_id = str(reader.pk)
        self.stop = threading.Event()
        self.snapshots = 0
        self.largest = 0
        self.out_of_order: list[list[int]] = []

    def run(self) -> None:
        params = connection.settings_dict
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=settings.DATABASE_APP_ROLE,
            autocommit=True,
        ) as raw:
            raw.execute("SELECT set_config('app.user_id', %s, false)", [self.reader_id])
            raw.execute("SELECT set_config('app.role', 'authenticated', false)")
            while True:
                stopping = self.stop.is_set()  # one last snapshot after every commit
                row = raw.execute(
                    "SELECT coalesce(array_agg(seq ORDER BY seq), '{}') FROM chat_message"
                    " WHERE channel_id = %s",
                    [self.channel_id],
                ).fetchone()
                seqs: list[int] = list(row[0]) if row else []
                self.snapshots += 1
                self.largest = max(self.largest, len(seqs))
                if seqs != list(range(1, len(seqs) + 1)):
                    self.out_of_order.append(seqs)
                if stopping:
                    return


async def until(condition: Callable[[], bool], timeout: float = DELIVERY_TIMEOUT) -> None:
    """Wait for ``condition`` with a timeout, looking again every few milliseconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_concurrent_posters_through_both_processes_get_seqs_in_commit_order(
    live_pair: list[Any],
) -> None:
    posters_count, per_poster = 8, 6
    total = posters_count * per_poster
    channel, posters, listeners = await database_sync_to_async(make_room)(posters_count, 2)
    sockets = [
        await subscribed_socket(server, listener, channel)
        for server, listener in zip(live_pair, listeners, strict=True)
    ]
    deliveries = [asyncio.ensure_future(created_seqs(ws, total)) for ws in sockets]
    observer = SnapshotObserver(channel, listeners[0])
    watching = asyncio.ensure_future(asyncio.to_thread(observer.run))
    clients = [Poster(live_pair[n % 2], user, channel) for n, user in enumerate(posters)]

    async def post_all(client: Poster, n: int) -> list[dict[str, Any]]:
        return [await client.post(f"poster {n} message {i}") for i in range(per_poster)]

    try:
        await until(lambda: observer.snapshots > 0 or watching.done())
        if watching.done():
            watching.result()  # the reader could not start: its error
        answers = await asyncio.gather(*(post_all(c, n) for n, c in enumerate(clients)))
        received = await asyncio.gather(*deliveries)
    finally:
        observer.stop.set()
        await watching
        for client in clients:
            await client.close()
        for ws in sockets:
            await ws.close()

    id_of = {answer["seq"]: answer["id"] for batch in answers for answer in batch}
    assert sorted(id_of) == list(range(1, total + 1))
    for batch in answers:  # each poster's own messages in the order it sent them
        assert [answer["seq"] for answer in batch] == sorted(answer["seq"] for answer in batch)
    rows = await database_sync_to_async(
        lambda: list(Message.objects.filter(channel=channel).values_list("seq", flat=True))
    )()
    assert sorted(rows) == list(range(1, total + 1))
    # Commit order is seq order: no snapshot ever held a seq without all before it.
    assert observer.out_of_order == [], observer.out_of_order[:3]
    assert observer.snapshots > 1 and observer.largest == total
    # Each subscriber, on either process, got every message.created exactly once and in seq
    # order: requests committing close together hand their events to the layer in either
    # order, and the consumer puts them back in seq order before they reach the client.
    expected = [(seq, id_of[seq]) for seq in range(1, total + 1)]
    for server, seen in zip(live_pair, received, strict=True):
        assert seen == expected, (server.port, [seq for seq, _ in seen])


async def test_changes_committed_while_sockets_subscribe_with_since_seq_arrive_once(
    live_pair: list[Any],
) -> None:
    """Sockets on both processes subscribe with since_seq one after another while someone
    posts without pause, so changes keep committing between a subscribe's group join and its
    replay read (and just before and after): each socket must see every seq after its
    since_seq exactly once and in order, from the replay or from the layer, never both, never
    neither. One poster: its events leave in commit order (the burst test below), so any
    duplicate, gap or swap here comes from the subscribe."""
    total, subscribers = 80, 12
    # Listeners outside the channel (it is public): nothing reaches their sockets before
    # their subscribe, so all they see is the replay and what follows it.
    channel, posters, listeners = await database_sync_to_async(make_room)(
        1, 3, listeners_join=False
    )
    client = Poster(live_pair[0], posters[0], channel)
    # Four sockets per listener (CHAT_MAX_SOCKETS_PER_USER is per user), on both processes.
    sockets = [
        await open_ws(live_pair[n % 2], listeners[n % len(listeners)]) for n in range(subscribers)
    ]
    committed: list[int] = []  # seqs whose POST has answered: committed by then

    async def post_all() -> None:
        for i in range(total):
            committed.append((await client.post(f"message {i}"))["seq"])

    async def subscribe_mid_stream(ws: ClientConnection, n: int) -> tuple[int, int, list[int]]:
        # Spread over the stream: the n-th socket waits for its share of the posts.
        await until(lambda: len(committed) >= n * total // (subscribers + 1))
        since = max(0, committed[-1] - 2)  # a little behind, as a reconnect
        await ws.send(
            json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": since})
        )
        subscribed, replayed = await receive_until(ws, of_type("subscribed"), DELIVERY_TIMEOUT)
        seqs = [event["seq"] for event in replayed if event["type"] == "message.created"]
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            while not seqs or seqs[-1] < total:
                event = json.loads(await ws.recv())
                if event["type"] == "message.created":
                    seqs.append(event["seq"])
        return since, subscribed["last_seq"], seqs

    try:
        posting = asyncio.ensure_future(post_all())
        results = await asyncio.gather(
            *(subscribe_mid_stream(ws, n + 1) for n, ws in enumerate(sockets))
        )
        await posting
    finally:
        await client.close()
        for ws in sockets:
            await ws.close()

    assert committed == list(range(1, total + 1))
    for since, last_seq, seqs in results:
        assert seqs == list(range(since + 1, total + 1)), (since, last_seq, seqs)
    # The subscribes really happened while changes were committing.
    assert all(since > 0 for since, _, _ in results)
    assert len({since for since, _, _ in results}) > subscribers // 2


async def test_a_burst_over_one_keepalive_connection_reaches_both_processes_in_order(
    live_pair: list[Any],
) -> None:
    burst = 50
    channel, posters, listeners = await database_sync_to_async(make_room)(1, 2)
    sockets = [
        await subscribed_socket(server, listener, channel)
        for server, listener in zip(live_pair, listeners, strict=True)
    ]
    deliveries = [asyncio.ensure_future(created_seqs(ws, burst)) for ws in sockets]
    client = Poster(live_pair[0], posters[0], channel)
    try:
        # Back to back on one connection: each request in a thread of the same process,
        # each handing its event to the loop as its transaction commits.
        answers = [await client.post(f"burst {i}") for i in range(burst)]
        received = await asyncio.gather(*deliveries)
    finally:
        await client.close()
        for ws in sockets:
            await ws.close()

    assert [answer["seq"] for answer in answers] == list(range(1, burst + 1))
    expected = [(answer["seq"], answer["id"]) for answer in answers]
    for server, seen in zip(live_pair, received, strict=True):
        assert seen == expected, f"port {server.port} received {[seq for seq, _ in seen]}"
