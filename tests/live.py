"""Live Daphne processes for tests that need a real server (WebSocket, browser, multi-process).

``start_servers(count, log_dir=..., env=...)`` starts ``count`` Daphne processes on free
ports and waits until each answers ``/healthz``; ``stop_servers`` stops them. Tests reach
them through the session fixtures in tests/conftest.py (``daphne_servers``, ``daphne``, and
``daphne_core_servers`` on RedisChannelLayer), which point the processes at the current
pytest database: data a test wants them to see must be committed (``transactional_db``).

The processes run as production runs (docs/operations.md): DEBUG off with a real secret key,
JSON logs, static files collected once per test process and served by ServeStatic, and the
database as the runtime role (``DATABASE_APP_ROLE``: no BYPASSRLS, owns nothing), so
row-level security applies to everything they do.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from tests.processes import manage

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30.0


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def log(self) -> str:
        """The process's output so far (for assertion messages)."""
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines so far, decoded (``LOG_FORMAT=json``: one object per line).

        A line that is not JSON (something written to stderr past the logging setup, such
        as an interpreter crash) comes back as ``{"event": <the line>, "level": "raw"}``.
        """
        records = []
        for line in self.log().splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            records.append(record if isinstance(record, dict) else {"event": line, "level": "raw"})
        return records


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daphne_command(port: int, *, proxy_headers: bool = False) -> list[str]:
    """As the image runs Daphne (Dockerfile); --proxy-headers only with a proxy in front.
    --verbosity 0: no plain-text access log beside the app's JSON request lines."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "--verbosity",
        "0",
        *(["--proxy-headers"] if proxy_headers else []),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "chatsite.asgi:application",
    ]


def production_settings() -> dict[str, str]:
    """What a production deployment sets (docs/operations.md, "Settings"), for 127.0.0.1.

    The secret key is the test process's own: the servers must accept the access tokens and
    session cookies the tests make. Unless DJANGO_SECRET_KEY is set, that is a random key
    made for this checkout (chatsite.settings), never a placeholder: with DEBUG off the
    servers refuse to start on a weak one.
    """
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_FORMAT": "json",
        "STATIC_ROOT": str(collected_static()),
    }


def server_environment(
    *, database_url: str, redis_url: str, prefix: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a live server: ``production_settings()`` on the given database and
    Redis, the channel layer keys under ``prefix``; ``extra`` last."""
    env = dict(os.environ)
    env.update(production_settings())
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CHANNEL_LAYER_PREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "PYTHONUNBUFFERED": "1",
            # Outgoing webhooks reach the tests' receivers on 127.0.0.1 only, and a hook made
            # by a test fires on the next message (docs/integrations.md).
            "CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
            "CHAT_OUTGOING_WEBHOOK_REFRESH": "0",
        }
    )
    env.update(extra or {})
    return env


@functools.cache
def collected_static() -> Path:
    """A STATIC_ROOT for this test process, filled once by ``collectstatic`` as a deploy does
    (docs/operations.md), removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="chatsite-static-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "STATIC_ROOT": str(root),
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
    }
    env.pop("COV_CORE_SOURCE", None)  # nothing of the app's own code to measure here
    # Hashing and compressing every file takes minutes on a busy machine.
    manage("collectstatic", "--noinput", "-v", "0", env=env, timeout=600)
    return root


def wait_healthy(server: LiveServer, timeout: float = START_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"Daphne on port {server.port} exited:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Daphne on port {server.port} did not answer:\n{server.log()}")
        time.sleep(0.1)


def start_servers(
    count: int, *, log_dir: Path, env: dict[str, str], proxy_headers: bool = False
) -> list[LiveServer]:
    """Start ``count`` Daphne processes with ``env`` and wait until all are healthy
    (``proxy_headers``: behind a proxy, as the image runs them)."""
    servers = []
    for _ in range(count):
        port = free_port()
        log_path = log_dir / f"daphne-{port}.log"
        log_file = log_path.open("wb")
        own = {"CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}"}
        process = subprocess.Popen(
            daphne_command(port, proxy_headers=proxy_headers),
            cwd=ROOT,
            env={**env, **own},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        servers.append(LiveServer(port, process, log_path, log_file))
    try:
        for server in servers:
            wait_healthy(server)
    except Exception:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: list[LiveServer], timeout: float = 10.0) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        server.log_file.close()


def database_url_for(settings_dict: dict[str, Any], role: str | None = None) -> str:
    """A DATABASE_URL for Django's connection settings (the test database's NAME), as
    ``role``: by default the runtime role (``DATABASE_APP_ROLE``), as servers connect in
    production. The migrations that built the test database granted it data access
    (docs/operations.md, "Roles and row-level security"); its password, if it needs one,
    comes from libpq's PGPASSWORD or ~/.pgpass."""
    user = role or settings.DATABASE_APP_ROLE
    password = (settings_dict.get("PASSWORD") or "") if user == settings_dict.get("USER") else ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"
