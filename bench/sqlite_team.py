"""A small team on the embedded default (SQLite file, in-memory layer), served as `make run` does.

Starts ``manage.py serve --setup`` (DEBUG on, 127.0.0.1) on a fresh SQLite file in a temporary
folder, registers ``--users`` people, and for ``--duration`` seconds each of them, at once,
posts a message, marks it read and fetches the latest history, over and over. Then it reads the
SQLite file to check that every acknowledged write is there. Prints one JSON summary:

    .venv/bin/python -m bench.sqlite_team --users 10 --duration 10

Rate limits are raised for the run (a load test would only measure 429s); nothing else differs
from `make run`. Neither DATABASE_URL nor REDIS_URL reaches the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERAL = "c0000000-0000-0000-0000-000000000001"  # the seeded #general
START_TIMEOUT_SECONDS = 90.0
SERVING = "chatsite is serving at "
# What the server must answer for each kind of request.
EXPECTED = {"register": 201, "token": 200, "join": 200, "post": 201, "read": 204, "history": 200}


@dataclass
class EmbeddedServer:
    """``manage.py serve --setup`` in SQLite mode; ``stdout`` collects its standard output."""

    process: subprocess.Popen[str]
    url: str
    database: Path
    log: IO[str]
    stdout: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def embedded_environment(workdir: Path) -> dict[str, str]:
    """This environment minus anything that would leave the embedded mode, as `make run`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SEED_PASSWORD", "MAKEFLAGS"}
        and not key.startswith(("DJANGO_", "COV_", "PYTEST_", "CHAT_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        DJANGO_DEBUG="1",  # what `make run` sets
        DJANGO_SECRET_KEY_FILE=str(workdir / "secret_key"),
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        STATIC_ROOT=str(workdir / "static"),
        CHAT_MESSAGE_RATE="1000000/min",
        CHAT_AUTH_RATE="1000000/min",
        # The team signs up through POST /api/auth/register/ without invitation links.
        CHAT_SIGNUP="open",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_server(workdir: Path) -> EmbeddedServer:
    """Start the server and wait for the line that says it is serving."""
    port = free_port()
    env = embedded_environment(workdir)
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--setup", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    server = EmbeddedServer(process, f"http://127.0.0.1:{port}", Path(env["SQLITE_PATH"]), log)
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.stdout.append(line.rstrip("\n"))
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stdout, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is not None and line.startswith(SERVING):
            return server
        if line is None:
            server.stop()
            raise RuntimeError(
                "the embedded server did not start:\n"
                + "\n".join(server.stdout)
                + (workdir / "server.log").read_text()[-4000:]
            )


@dataclass
class Tally:
    """Every request's kind, status and time; a few bodies of unexpected answers."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    unexpected: list[str] = field(default_factory=list)

    async def request(
        self, session: aiohttp.ClientSession, kind: str, method: str, url: str, **kwargs: Any
    ) -> Any:
        started = time.perf_counter()
        async with session.request(method, url, **kwargs) as response:
            body = await response.read()
        self.times[kind].append(time.perf_counter() - started)
        self.statuses[kind][response.status] += 1
        if response.status != EXPECTED[kind]:
            if len(self.unexpected) < 10:
                self.unexpected.append(f"{kind} {response.status}: {body[:300]!r}")
            return None
        return json.loads(body) if body else {}


@dataclass
class Member:
    username: str
    sent: list[str] = field(default_factory=list)  # client ids of acknowledged messages
    last_read: int = 0


async def member_arrives(
    session: aiohttp.ClientSession, member: Member, tally: Tally
) -> dict[str, str] | None:
    """Register, log in (JWT) and join #general; the request headers, or None on failure."""
    password = secrets.token_urlsafe(16)
    registered = await tally.request(
        session,
        "register",
        "POST",
        "/api/auth/register/",
        json={
            "username": member.username,
            "email": f"{member.username}@example.com",
            "password": password,
        },
    )
    tokens = registered and await tally.request(
        session,
        "token",
        "POST",
        "/api/auth/token/",
        json={"username": member.username, "password": password},
    )
    if not tokens:
        return None
    headers = {"Authorization": f"Bearer {tokens['access']}"}
    joined = await tally.request(
        session, "join", "POST", f"/api/chat/channels/{GENERAL}/join/", headers=headers
    )
    return None if joined is None else headers


async def member_talks(
    session: aiohttp.ClientSession,
    member: Member,
    tally: Tally,
    headers: dict[str, str],
    stop_at: float,
) -> None:
    """Until ``stop_at``: post, mark the message read, fetch the latest history."""
    while time.monotonic() < stop_at:
        client_id = str(uuid.uuid4())
        message = await tally.request(
            session,
            "post",
            "POST",
            "/api/chat/messages",
            headers=headers,
            json={
                "channel_id": GENERAL,
                "content": f"hi from {member.username}",
                "client_id": client_id,
            },
        )
        if message is None:
            continue
        member.sent.append(client_id)
        read = await tally.request(
            session,
            "read",
            "POST",
            f"/api/chat/channels/{GENERAL}/read/",
            headers=headers,
            json={"seq": message["seq"]},
        )
        if read is not None:
            member.last_read = max(member.last_read, int(message["seq"]))
        await tally.request(
            session,
            "history",
            "GET",
            "/api/chat/messages",
            headers=headers,
            params={"channel_id": GENERAL, "limit": "50"},
        )


def writes_missing(database: Path, members: list[Member]) -> dict[str, int]:
    """Acknowledged messages and read markers that are not in the SQLite file."""
    with sqlite3.connect(database) as db:
        stored = {row[0] for row in db.execute("SELECT client_id FROM chat_message")}
        markers = dict(
            db.execute(
                "SELECT u.username, m.last_read_seq FROM chat_membership m "
                "JOIN accounts_user u ON u.id = m.user_id WHERE m.channel_id = ?",
                (uuid.UUID(GENERAL).hex,),
            ).fetchall()
        )
    sent = [uuid.UUID(client_id).hex for member in members for client_id in member.sent]
    return {
        "messages": sum(1 for client_id in sent if client_id not in stored),
        "read_markers": sum(
            1 for m in members if m.last_read and markers.get(m.username, 0) < m.last_read
        ),
    }


def _milliseconds(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def run(*, users: int, duration: float, workdir: Path) -> dict[str, Any]:
    """Serve from ``workdir``, drive the team, stop the server; the summary."""
    server = start_server(workdir)
    try:
        members = [Member(f"team{index:02d}") for index in range(users)]
        tally = Tally()

        async def drive() -> float:
            sessions = [aiohttp.ClientSession(server.url) for _ in members]
            try:
                arrived = await asyncio.gather(
                    *(member_arrives(s, m, tally) for s, m in zip(sessions, members, strict=True))
                )
                # The clock starts once everybody is in: logins hash passwords on purpose.
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        member_talks(s, m, tally, headers, started + duration)
                        for s, m, headers in zip(sessions, members, arrived, strict=True)
                        if headers is not None
                    )
                )
                return time.monotonic() - started
            finally:
                for session in sessions:
                    await session.close()

        elapsed = asyncio.run(drive())
    finally:
        server.stop()
    total = sum(len(times) for times in tally.times.values())
    return {
        "benchmark": "sqlite_team",
        "users": users,
        "duration_s": round(elapsed, 2),
        "requests": total,
        "talk_requests_per_s": round(
            sum(len(tally.times[kind]) for kind in ("post", "read", "history")) / elapsed, 1
        ),
        "by_kind": {
            kind: {
                "statuses": {str(status): count for status, count in tally.statuses[kind].items()},
                "median_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": _milliseconds(times, 0.95),
                "max_ms": round(max(times) * 1000, 1),
            }
            for kind, times in tally.times.items()
        },
        "server_errors": sum(
            count
            for statuses in tally.statuses.values()
            for status, count in statuses.items()
            if status >= 500
        ),
        "unexpected": tally.unexpected,
        "messages_acknowledged": sum(len(m.sent) for m in members),
        "missing": writes_missing(server.database, members),
        "server_stdout": server.stdout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatsite-sqlite-team-") as workdir:
        summary = run(users=args.users, duration=args.duration, workdir=Path(workdir))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
