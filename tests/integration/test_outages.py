"""Outages: Redis and PostgreSQL go away under a live Daphne, and come back.

These tests start a PostgreSQL cluster and a redis-server of their own (tests/private_services.py)
and one Daphne on them, connected as the runtime role, and kill and restart those: never the
shared services. What they hold (docs/operations.md, "Outages"):

- while Redis is away, posting succeeds through REST, the WebSocket and the web form, logins
  still count failures (in process memory), /readyz says 503 and /healthz 200; when Redis is
  back, a socket that subscribes with since_seq gets what it missed, and live events flow;
- after a PostgreSQL restart, the pool's dead connections are never served;
- while PostgreSQL is away, requests are answered 503 with Retry-After (JSON under /api/, HTML
  otherwise) and socket operations with ``unavailable`` error events; when it is back, requests
  succeed again without restarting the server. No answer is ever a 500, no socket closes 1011.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests import live
from tests.private_services import RUNTIME_ROLE, PrivatePostgres, PrivateRedis

# Under xdist each worker that runs one of these starts a private stack of its own.
pytestmark = [pytest.mark.outage, pytest.mark.live]

TIMEOUT = 10.0
RECOVERY_TIMEOUT = 15.0
PASSWORD = "outage-Test-pass-42"
AXES_FAILURE_LIMIT = 3
# What the server log holds when a request or a socket failed with a bug (500 or 1011).
FAILURE_MARKERS = ('"status": 500', '"code": 500', "request_failed", "Exception inside application")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Stack:
    """A private PostgreSQL and Redis, one Daphne on them, and every status it answered."""

    postgres: PrivatePostgres
    redis: PrivateRedis
    server: live.LiveServer
    statuses: list[tuple[str, int]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        form: dict[str, str] | None = None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(  # noqa: S310
            self.server.url + path, data=data, headers=headers, method=method
        )
        opener = opener or urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=TIMEOUT) as response:
                answer = Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers), error.read())
        self.statuses.append((f"{method} {path}", answer.status))
        return answer

    async def arequest(self, method: str, path: str, **kwargs: Any) -> Answer:
        return await asyncio.to_thread(self.request, method, path, **kwargs)

    def token(self, username: str) -> str:
        answer = self.request(
            "POST", "/api/auth/token/", body={"username": username, "password": PASSWORD}
        )
        assert answer.status == 200, answer
        return str(answer.json()["access"])

    def wait_until(self, method: str, path: str, status: int, **kwargs: Any) -> Answer:
        """Poll until ``path`` answers ``status`` (a recovery), at most RECOVERY_TIMEOUT."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:
            answer = self.request(method, path, **kwargs)
            if answer.status == status or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    def assert_no_failure(self) -> None:
        assert not [seen for seen in self.statuses if seen[1] >= 500 and seen[1] != 503]
        log = self.server.log()
        found = [marker for marker in FAILURE_MARKERS if marker in log]
        assert not found, log[-5000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("outages")
    postgres = PrivatePostgres()
    redis = PrivateRedis(log_dir)
    servers: list[live.LiveServer] = []
    try:
        postgres.start()
        redis.start()
        postgres.create_app_database(redis.url)
        env = live.server_environment(
            database_url=postgres.url(RUNTIME_ROLE),
            redis_url=redis.url,
            prefix=f"outage-{uuid.uuid4().hex[:8]}",
            extra={
                # The default layer; with RedisChannelLayer a Redis outage closes open
                # sockets with 4503 instead (docs/operations.md, "Outages").
                "CHANNEL_LAYER_BACKEND": "pubsub",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "LOG_FORMAT": "json",
                "DATABASE_POOL_TIMEOUT": "2",
                "AXES_FAILURE_LIMIT": str(AXES_FAILURE_LIMIT),
                # alice and bob sign up through the API below, without invitation links.
                "CHAT_SIGNUP": "open",
            },
        )
        servers = live.start_servers(1, log_dir=log_dir, env=env)
        stack = Stack(postgres, redis, servers[0])
        for username in ("alice", "bob"):
            answer = stack.request(
                "POST",
                "/api/auth/register/",
                body={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                },
            )
            assert answer.status == 201, answer
        answer = stack.request(
            "POST", "/api/chat/channels/", token=stack.token("alice"), body={"name": "general"}
        )
        assert answer.status == 201, answer
        yield stack
    finally:
        live.stop_servers(servers)
        redis.kill()
        postgres.destroy()


def _channel_id(stack: Stack, token: str) -> str:
    answer = stack.request("GET", "/api/chat/channels/", token=token)
    assert answer.status == 200, answer
    results = answer.json()
    channels = results["results"] if isinstance(results, dict) else results
    return str(next(channel["id"] for channel in channels if channel["name"] == "general"))


async def _open_ws(stack: Stack, token: str) -> tuple[ClientConnection, dict[str, Any]]:
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{token}")]
    ws = await connect(stack.server.ws_url, subprotocols=protocols, open_timeout=TIMEOUT)
    first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return ws, first


async def _receive_until(ws: ClientConnection, kind: str) -> tuple[dict[str, Any], list[Any]]:
    """The first event of type ``kind``, and the ones before it."""
    before: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == kind:
                return event, before
            before.append(event)


async def _assert_refused_as_unavailable(stack: Stack, token: str) -> None:
    refused, first = await _open_ws(stack, token)
    assert first["type"] == "error" and first["code"] == "unavailable", first
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(refused.recv(), TIMEOUT)
    assert refused.close_code == 4503


def _web_login(stack: Stack, username: str) -> urllib.request.OpenerDirector:
    """A browser-like opener (cookies, no redirects followed), signed in through the form."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
    )
    page = stack.request("GET", "/accounts/login/", opener=opener)
    assert page.status == 200, page
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page)}
    answer = stack.request("POST", "/accounts/login/", form=form, opener=opener)
    assert answer.status == 302, answer
    return opener


def _csrf(page: Answer) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert found is not None, page.body[:500]
    return found.group(1).decode()


async def test_while_redis_is_away_every_write_succeeds_and_a_resubscribe_recovers_events(
    stack: Stack,
) -> None:
    token = await asyncio.to_thread(stack.token, "alice")
    channel_id = await asyncio.to_thread(_channel_id, stack, token)
    ws, welcome = await _open_ws(stack, token)
    assert welcome["type"] == "welcome", welcome
    since_seq = next(c["last_seq"] for c in welcome["channels"] if c["id"] == channel_id)
    await ws.send(json.dumps({"type": "ping"}))
    await _receive_until(ws, "pong")  # the server is done connecting it

    stack.redis.kill()
    try:
        sent = []
        for number in range(3):
            content = f"posted over REST while Redis is away {number}"
            answer = await stack.arequest(
                "POST",
                "/api/chat/messages",
                token=token,
                body={"channel_id": channel_id, "content": content},
            )
            assert answer.status == 201, answer
            sent.append(content)

        client_id = str(uuid.uuid4())
        content = "sent over the socket while Redis is away"
        await ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "channel_id": channel_id,
                    "content": content,
                    "client_id": client_id,
                }
            )
        )
        ack, _ = await _receive_until(ws, "ack")
        assert ack["client_id"] == client_id and ack["message"]["content"] == content
        sent.append(content)

        opener = await asyncio.to_thread(_web_login, stack, "alice")
        room = await stack.arequest("GET", "/channels/general/", opener=opener)
        assert room.status == 200, room
        content = "posted with the web form while Redis is away"
        answer = await stack.arequest(
            "POST",
            "/channels/general/",
            form={"content": content, "csrfmiddlewaretoken": _csrf(room)},
            opener=opener,
        )
        assert answer.status == 302, answer
        sent.append(content)

        # Failed logins still count, in the process's memory: bob is locked out at the limit.
        wrong = {"username": "bob", "password": "not-the-password"}
        statuses = [
            (await stack.arequest("POST", "/api/auth/token/", body=wrong)).status
            for _ in range(AXES_FAILURE_LIMIT + 1)
        ]
        assert statuses == [401] * (AXES_FAILURE_LIMIT - 1) + [429, 429]

        assert (await stack.arequest("GET", "/healthz")).status == 200
        ready = await stack.arequest("GET", "/readyz")
        assert ready.status == 503 and ready.json()["failing"] == ["channel_layer"], ready

        # A new socket cannot join the layer: it is told why and closed with 4503, never 1011.
        # Clients that keep reconnecting hold no database connection (the pool has 20).
        for _ in range(25):
            await _assert_refused_as_unavailable(stack, token)
        answer = await stack.arequest(
            "POST",
            "/api/chat/messages",
            token=token,
            body={"channel_id": channel_id, "content": "25"},
        )
        assert answer.status == 201, answer
        sent.append("25")

        # PostgreSQL holds every one of them.
        answer = await stack.arequest(
            "GET", f"/api/chat/messages?channel_id={channel_id}&since_seq={since_seq}", token=token
        )
        assert answer.status == 200
        assert [m["content"] for m in answer.json()["results"]] == sent
    finally:
        stack.redis.start()

    ready = await asyncio.to_thread(stack.wait_until, "GET", "/readyz", 200)
    assert ready.status == 200, ready
    # The socket lived through the outage; subscribing with since_seq replays what it missed.
    await ws.send(
        json.dumps({"type": "subscribe", "channel_id": channel_id, "since_seq": since_seq})
    )
    subscribed, replayed = await _receive_until(ws, "subscribed")
    assert [e["message"]["content"] for e in replayed if e["type"] == "message.created"] == sent
    assert subscribed["last_seq"] == since_seq + len(sent)

    # And the layer carries live events again (the pub/sub layer resubscribes on reconnect).
    content = "posted after Redis came back"
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while True:
        answer = await stack.arequest(
            "POST",
            "/api/chat/messages",
            token=token,
            body={"channel_id": channel_id, "content": content},
        )
        assert answer.status == 201, answer
        try:
            async with asyncio.timeout(2):
                while True:
                    event = json.loads(await ws.recv())
                    if (
                        event["type"] == "message.created"
                        and event["message"]["content"] == content
                    ):
                        break
            break
        except TimeoutError:
            assert time.monotonic() < deadline, "no live event after Redis came back"
    await ws.close()
    stack.assert_no_failure()


async def test_after_a_postgres_restart_dead_pooled_connections_are_not_served(
    stack: Stack,
) -> None:
    token = await asyncio.to_thread(stack.token, "alice")
    # Several requests at once, so the pool holds several connections when PostgreSQL restarts.
    warm = await asyncio.gather(
        *(stack.arequest("GET", "/api/auth/me/", token=token) for _ in range(6))
    )
    assert {answer.status for answer in warm} == {200}

    await asyncio.to_thread(stack.postgres.restart)

    # No request in between: the pool's connections all died with the old server process.
    statuses = [
        (await stack.arequest("GET", "/api/auth/me/", token=token)).status for _ in range(10)
    ]
    assert statuses == [200] * 10
    stack.assert_no_failure()


async def test_while_postgres_is_away_answers_are_503_and_recover_without_a_restart(
    stack: Stack,
) -> None:
    token = await asyncio.to_thread(stack.token, "alice")
    channel_id = await asyncio.to_thread(_channel_id, stack, token)
    opener = await asyncio.to_thread(_web_login, stack, "alice")
    ws, welcome = await _open_ws(stack, token)
    assert welcome["type"] == "welcome"

    await asyncio.to_thread(stack.postgres.stop)
    try:
        for method, path, body in [
            ("GET", "/api/chat/channels/", None),
            ("POST", "/api/chat/messages", {"channel_id": channel_id, "content": "lost?"}),
            ("GET", "/api/auth/me/", None),
        ]:
            answer = await stack.arequest(method, path, token=token, body=body)
            assert answer.status == 503, (path, answer)
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.json()["error"]["code"] == "unavailable"
        answer = await stack.arequest(
            "POST", "/api/auth/token/", body={"username": "alice", "password": PASSWORD}
        )
        assert answer.status == 503 and answer.json()["error"]["code"] == "unavailable"
        page = await stack.arequest("GET", "/channels/general/", opener=opener)
        assert page.status == 503 and "Retry-After" in page.headers
        assert page.headers["Content-Type"].startswith("text/html")
        assert (await stack.arequest("GET", "/healthz")).status == 200
        ready = await stack.arequest("GET", "/readyz")
        assert ready.status == 503 and ready.json()["failing"] == ["database"]

        # An open socket answers with an error event and stays open.
        client_id = str(uuid.uuid4())
        frame = {
            "type": "message.send",
            "channel_id": channel_id,
            "content": "x",
            "client_id": client_id,
        }
        await ws.send(json.dumps(frame))
        error, _ = await _receive_until(ws, "error")
        assert error["code"] == "unavailable" and error["ref"] == client_id
        await ws.send(json.dumps({"type": "ping"}))
        await _receive_until(ws, "pong")

        # A new socket is told why and closed with 4503 (try again later), never 1011.
        await _assert_refused_as_unavailable(stack, token)
    finally:
        await asyncio.to_thread(stack.postgres.start)

    answer = await asyncio.to_thread(
        stack.wait_until, "GET", "/api/chat/channels/", 200, token=token
    )
    assert answer.status == 200, answer
    answer = await stack.arequest(
        "POST",
        "/api/chat/messages",
        token=token,
        body={"channel_id": channel_id, "content": "back"},
    )
    assert answer.status == 201, answer
    # The same socket sends again, with the same client_id: stored once, acknowledged.
    await ws.send(json.dumps(frame))
    ack, _ = await _receive_until(ws, "ack")
    assert ack["client_id"] == client_id
    assert (await stack.arequest("GET", "/channels/general/", opener=opener)).status == 200
    await ws.close()
    stack.assert_no_failure()
