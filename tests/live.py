"""Live Daphne processes for tests that need a real server (WebSocket, browser, multi-process).

``start_servers(count, database_name=..., redis_url=..., prefix=...)`` starts ``count`` Daphne
processes on free ports, all on the same database and channel layer, and waits until each
answers ``/healthz``. ``stop_servers`` stops them. Tests reach them through the session
fixtures in tests/conftest.py (``daphne_servers``, ``daphne``), which point the processes at
the current pytest database: data a test wants them to see must be committed
(``transactional_db``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daphne_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "chatsite.asgi:application",
    ]


def server_environment(
    *, database_url: str, redis_url: str, prefix: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    # As `make run` serves (DEBUG is off by default): static files straight from static/, as
    # nothing is collected for the tests, on 127.0.0.1 only.
    env.setdefault("DJANGO_DEBUG", "1")
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CHANNEL_LAYER_PREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


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


def start_servers(count: int, *, log_dir: Path, env: dict[str, str]) -> list[LiveServer]:
    """Start ``count`` Daphne processes with ``env`` and wait until all are healthy."""
    servers = []
    for _ in range(count):
        port = free_port()
        log_path = log_dir / f"daphne-{port}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            daphne_command(port), cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
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


def database_url_for(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for Django's connection settings (the test database's NAME)."""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"
