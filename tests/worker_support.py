"""A live ``manage.py worker`` for the tests: on the test database as the runtime role, as
production runs it (tests/live.py), with a short heartbeat and poll interval."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from django.conf import settings
from django.db import connection

from tests import live

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# What every test worker runs with, unless a test says otherwise.
WORKER_SETTINGS = {
    "CHAT_WORKER_HEARTBEAT_SECONDS": "0.5",
    "CHAT_WORKER_STALE_SECONDS": "3",
    "CHAT_TASK_RETRY_DELAY": "0.2",
}


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log_file.close()
        return code


def worker_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    from tests.conftest import _TEST_PREFIX

    database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        # The live servers' prefix: the worker reads their presence (who is online).
        prefix=_TEST_PREFIX,
        extra={**WORKER_SETTINGS, **(extra or {})},
    )
    env.pop("COV_CORE_SOURCE", None)
    return env


def start_worker(log_dir: Path, extra: dict[str, str] | None = None) -> WorkerProcess:
    """``manage.py worker`` polling every 0.1 s; test data it should see must be committed."""
    log_path = log_dir / f"worker-{time.monotonic_ns()}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=worker_environment(extra),
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    return WorkerProcess(process, log_path, log_file)


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, message: Callable[[], str] = str
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; {message()}")
        time.sleep(0.05)


def log_events(worker: WorkerProcess, event: str) -> list[dict[str, Any]]:
    import json

    found = []
    for line in worker.log().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            found.append(record)
    return found
