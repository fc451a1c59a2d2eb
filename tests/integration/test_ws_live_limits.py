"""/ws/chat/ limits against live Daphne processes and a real client (``websockets``).

- Replays to clients that never read stay within a memory bound (back-pressure plus the
  replay cap), measured as the server process's RSS (docs/performance.md, "Replays").
- Every server-initiated close reaches the client as a close frame with its code, also when
  the client was busy and had a backlog to read first.
- Sockets per user are capped across processes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from accounts import services as account_services
from chat import presence
from tests import live
from tests.integration.test_ws_live import TIMEOUT, of_type, open_ws, receive_until
from tests.integration.ws_support import access_token, forget_presence

pytestmark = pytest.mark.live

BACKLOG = 30_000
RSS_GROWTH_BOUND_KB = 25 * 1024


def fill(channel: Any, user: Any, count: int) -> None:
    """``count`` messages of about 700 bytes each in ``channel``, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
            " change_seq) SELECT gen_random_uuid(), %s, %s, repeat('x', 600) || g, now(), g, g"
            " FROM generate_series(1, %s) g",
            [channel.pk, user.pk, count],
        )
        cursor.execute("UPDATE chat_channel SET last_seq = %s WHERE id = %s", [count, channel.pk])


def status_kb(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` field in kB (VmRSS: resident now; VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


async def open_slow_ws(server: Any, user: Any, token: str | None = None) -> ClientConnection:
    """A token connection whose client reads nothing unless asked: a 4 KiB receive buffer
    and a one-message queue, so the server meets a full socket after a few kilobytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{token or access_token(user)}")]
    ws = await connect(
        server.ws_url, sock=sock, subprotocols=protocols, max_queue=1, open_timeout=TIMEOUT
    )
    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert welcome["type"] == "welcome", welcome
    return ws


async def received_close_code(ws: ClientConnection, timeout: float = 30.0) -> int | None:
    """Read everything until the connection closes; the code of the close frame received
    (None: the connection dropped without one, which a browser reports as 1006)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def wait_for_offline(server: Any, user: Any, timeout: float = 30.0) -> None:
    """Until every connection of ``user`` is gone from presence (each consumer ran its
    disconnect)."""
    try:
        async with asyncio.timeout(timeout):
            while await presence.online_among([user.pk]):
                await asyncio.sleep(0.2)
    except TimeoutError:
        entries = await presence._client().zrange(presence._key(user.pk), 0, -1)
        Path("/tmp/sockscratch/server.log").write_text(server.log())
        pytest.fail(f"still online: {entries}\n{server.log()[-5000:]}")
    finally:
        await presence.close_client()


async def settled_rss_kb(pid: int, timeout: float = 20.0) -> int:
    """The process's RSS once it stops changing by more than 256 kB in half a second."""
    deadline = time.monotonic() + timeout
    previous = status_kb(pid, "VmRSS")
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        current = status_kb(pid, "VmRSS")
        if abs(current - previous) < 256:
            return current
        previous = current
    return previous


@pytest.fixture(scope="module")
def uncapped_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One Daphne whose replays are not capped, so only back-pressure bounds them."""
    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        prefix=prefix,
        extra={"CHAT_REPLAY_LIMIT": str(BACKLOG * 2)},
    )
    servers = live.start_servers(1, log_dir=tmp_path_factory.mktemp("uncapped"), env=env)
    yield servers[0]
    live.stop_servers(servers)


async def replay_to_readers_that_never_read(server: Any, user: Any, channel: Any) -> dict:
    """RSS of ``server`` before, during and after five replays of the whole channel to
    clients that never read, then vanish."""
    pid = server.process.pid
    await forget_presence()  # user ids restart with the test database; Redis keys do not
    warm = await open_ws(server, user)  # the pools and caches a replay needs, first
    await warm.send(json.dumps({"type": "subscribe", "channel_id": str(channel.pk)}))
    await receive_until(warm, of_type("subscribed"))
    await warm.close()
    await wait_for_offline(server, user)
    before = await settled_rss_kb(pid)
    peak_before = status_kb(pid, "VmHWM")

    readers = [await open_slow_ws(server, user) for _ in range(5)]
    for ws in readers:
        await ws.send(
            json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 0})
        )
    during = await settled_rss_kb(pid)
    for ws in readers:
        ws.transport.abort()  # gone without a word, as a client whose network dropped
    await wait_for_offline(server, user)
    after = await settled_rss_kb(pid)
    return {
        "before_kb": before,
        "during_kb": during,
        "after_kb": after,
        "peak_growth_kb": status_kb(pid, "VmHWM") - peak_before,
    }


async def test_five_replays_to_clients_that_never_read_stay_within_a_memory_bound(
    daphne: Any, uncapped_server: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, BACKLOG)
    results = {}
    for name, server in (("capped", daphne), ("uncapped", uncapped_server)):
        results[name] = await replay_to_readers_that_never_read(server, bob, channel)
    print("replay RSS (kB):", json.dumps(results))  # for docs/performance.md
    for name, rss in results.items():
        assert rss["during_kb"] - rss["before_kb"] < RSS_GROWTH_BOUND_KB, (name, rss)
        assert rss["after_kb"] - rss["before_kb"] < RSS_GROWTH_BOUND_KB, (name, rss)
        assert rss["peak_growth_kb"] < RSS_GROWTH_BOUND_KB, (name, rss)
    for server in (daphne, uncapped_server):
        assert "Traceback" not in server.log()[-20_000:]


async def test_capped_replay_pages_to_the_end_over_a_real_socket(
    daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 1234)
    ws = await open_ws(daphne, bob)
    seqs: list[int] = []
    since = 0
    pages = 0
    while True:
        await ws.send(
            json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": since})
        )
        subscribed, replayed = await receive_until(ws, of_type("subscribed"))
        seqs += [event["seq"] for event in replayed]
        pages += 1
        if not subscribed.get("has_more"):
            break
        assert len(replayed) == 500
        since = subscribed["replayed_to"]
    assert seqs == list(range(1, 1235)) and pages == 3
    assert subscribed["last_seq"] == 1234
    await ws.close()


async def backlog(server: Any, user: Any, channel: Any) -> ClientConnection:
    """A slow client that has asked for a replay it does not read yet."""
    ws = await open_slow_ws(server, user)
    await ws.send(json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 0}))
    return ws


async def test_a_flooding_client_with_a_backlog_receives_4429(
    daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 2000)
    ws = await backlog(daphne, bob, channel)
    for _ in range(300):
        await ws.send(json.dumps({"type": "ping"}))
    await asyncio.sleep(2)  # busy elsewhere: longer than autobahn's own close handshake wait
    assert await received_close_code(ws) == 4429


async def test_frames_piling_up_behind_a_blocked_replay_close_with_4429_not_memory(
    daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 2000)
    pid = daphne.process.pid
    before = await settled_rss_kb(pid)
    ws = await backlog(daphne, bob, channel)  # the consumer now waits for the client to read
    frame = json.dumps({"type": "ping", "pad": "x" * (15 * 1024)})
    try:
        async with asyncio.timeout(60):
            for _ in range(2000):  # 30 MB that nobody takes from the queue
                await ws.send(frame)
    except ConnectionClosed:
        pass  # the server closed first: what this test wants
    during = await settled_rss_kb(pid)
    assert during - before < 10 * 1024, (before, during)
    assert await received_close_code(ws) == 4429


async def test_a_client_with_a_backlog_deactivated_receives_4403(
    daphne: Any, alice: Any, bob: Any, channel: Any, moderator: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 2000)
    ws = await backlog(daphne, bob, channel)
    await asyncio.sleep(0.5)
    await database_sync_to_async(account_services.user_deactivate)(actor=moderator, user=bob)
    await asyncio.sleep(2)
    assert await received_close_code(ws) == 4403


async def test_a_client_with_a_backlog_whose_token_expires_receives_4401(
    daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 2000)
    token = access_token(bob, lifetime=timedelta(seconds=2))
    ws = await open_slow_ws(daphne, bob, token)
    await ws.send(json.dumps({"type": "subscribe", "channel_id": str(channel.pk), "since_seq": 0}))
    await asyncio.sleep(4)
    assert await received_close_code(ws) == 4401


async def test_a_client_with_a_backlog_sending_a_huge_frame_receives_1009(
    daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(fill)(channel, alice, 2000)
    ws = await backlog(daphne, bob, channel)
    await ws.send("x" * (16 * 1024 + 1))
    await asyncio.sleep(2)
    assert await received_close_code(ws) == 1009


async def test_sockets_per_user_are_capped_across_processes(
    daphne_servers: list[Any], daphne: Any, bob: Any
) -> None:
    limit = settings.CHAT_MAX_SOCKETS_PER_USER
    opened = [await open_ws(daphne_servers[n % 2], bob) for n in range(limit)]
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(bob)}")]
    refused = await connect(daphne_servers[1].ws_url, subprotocols=protocols)
    error, _ = await receive_until(refused, of_type("error"))
    assert error["code"] == "too_many_connections"
    assert await received_close_code(refused) == 4408
    await opened.pop().close()
    await wait_for_one_less(bob, limit)
    opened.append(await open_ws(daphne_servers[1], bob))
    for ws in opened:
        await ws.close()


async def wait_for_one_less(user: Any, limit: int) -> None:
    client = presence._client()
    async with asyncio.timeout(TIMEOUT):
        while await client.zcard(presence._key(user.pk)) >= limit:
            await asyncio.sleep(0.1)
    await presence.close_client()
