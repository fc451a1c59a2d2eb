"""A PostgreSQL cluster and a Redis server of a test's own, to stop and start at will.

The outage tests (tests/integration/test_outages.py) kill and restart these, never the
shared services the rest of the suite uses. PostgreSQL runs as the ``postgres`` user from a
temporary directory, on a free port, with durability switched off (a throwaway cluster);
Redis runs as a child process without persistence.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.live import free_port
from tests.processes import manage

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER_ROLE = "chatsite"  # owns the tables and runs migrations (scripts/ensure-services.sh)
RUNTIME_ROLE = "chatsite_app"  # what the servers connect as: no ownership, no BYPASSRLS
DATABASE = "chatsite"
START_TIMEOUT_SECONDS = 30


def wait_for(check: object, timeout: float, what: str) -> None:
    """Poll ``check()`` until it is true; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(0.1)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """initdb into a temporary directory; ``start``, ``stop`` and ``restart`` with pg_ctl."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="chatsite-outage-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N"
        )

    def _as_postgres(self, *command: str) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl(
            "-o", options, "-l", str(self.log), "-w", "-t", str(START_TIMEOUT_SECONDS), "start"
        )

    def stop(self) -> None:
        """A fast shutdown: open sessions are terminated, as in a real restart."""
        self._pg_ctl("-m", "fast", "-w", "-t", str(START_TIMEOUT_SECONDS), "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> None:
        subprocess.run(
            [
                *("psql", "-v", "ON_ERROR_STOP=1", "-qAt", "-h", "127.0.0.1", "-p", str(self.port)),
                *("-U", "postgres", "-d", database, "-c", sql),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def url(self, role: str) -> str:
        return f"postgres://{role}@127.0.0.1:{self.port}/{DATABASE}"

    def create_app_database(self, redis_url: str) -> None:
        """The roles and database scripts/ensure-services.sh makes, migrated by the owner."""
        self.psql(f'CREATE ROLE "{OWNER_ROLE}" LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE')
        self.psql(f'CREATE ROLE "{RUNTIME_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB')
        self.psql(f'CREATE DATABASE "{DATABASE}" OWNER "{OWNER_ROLE}"')
        env = {
            **os.environ,
            "DATABASE_URL": self.url(OWNER_ROLE),
            "REDIS_URL": redis_url,
            "DATABASE_APP_ROLE": RUNTIME_ROLE,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        }
        env.pop("COV_CORE_SOURCE", None)
        manage("migrate", "--noinput", "-v", "0", env=env, timeout=300)

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self._pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """A redis-server child process without persistence; ``kill`` and ``start`` again."""

    def __init__(self, log_dir: Path, *arguments: str) -> None:
        """``arguments`` go to redis-server after the defaults (e.g. ``--replicaof h p``)."""
        self.port = free_port()
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.arguments = arguments
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                    # A replica writes the copy it receives here, never into the checkout.
                    *("--dir", str(self.log_path.parent)),
                    *self.arguments,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: _accepts(self.port), START_TIMEOUT_SECONDS, "redis-server did not listen")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
