"""What every benchmark shares: the bench database, server processes, clocks and the summary.

Each benchmark starts its own servers on free ports against PostgreSQL and Redis, measures
chatsite and a reference in the same run, and prints ONE JSON summary on stdout (progress goes
to stderr). Absolute numbers depend on what else the machine is doing; the ratios to the
reference measured alongside are what docs/performance.md compares.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import math
import os
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://chatsite@127.0.0.1:5432/chatsite_bench"
)
DEFAULT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# chatsite as the benchmarks run it: production mode, rate limits out of the way (they are
# per user and per minute; a load test would only measure 429s), tokens valid for the run.
BENCH_SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "CHAT_MESSAGE_RATE": "1000000/min",
    "CHAT_AUTH_RATE": "1000000/min",
    # The fan-out sender spreads its fastest steps over more sockets of one user than the
    # per-user cap of 20 allows.
    "CHAT_MAX_SOCKETS_PER_USER": "1000",
    "JWT_ACCESS_MINUTES": "240",
    "LOG_FORMAT": "json",
    "PYTHONUNBUFFERED": "1",
    # One random key per benchmark run: the seed mints tokens with it, the servers check them.
    "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(64),
}


def log(message: str) -> None:
    """Progress for the person watching; stdout is kept for the JSON summary."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Arguments and environment
# ------------------------------------------------------------------------------------------
def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument(
        "--chatsite-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the chatsite servers, e.g. CHANNEL_LAYER_BACKEND=core",
    )
    parser.add_argument(
        "--chatsite-server",
        choices=("daphne", "uvicorn"),
        default="daphne",
        help="the ASGI server that runs chatsite (Daphne is chatsite's; uvicorn for comparison)",
    )
    parser.add_argument(
        "--log-dir",
        default=None,
        help="where the servers' logs go (default: a temporary folder, removed afterwards)",
    )


def int_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def float_list(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item.strip()]


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def server_env(args: argparse.Namespace, *, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a chatsite (or reference) process against the bench services."""
    env = dict(os.environ)
    env.update(BENCH_SERVER_ENV)
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "CHANNEL_LAYER_PREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    env.update(extra)
    return env


def raise_open_files_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (inherited by the servers started afterwards); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


# ------------------------------------------------------------------------------------------
# The bench database: created, migrated and seeded by the scripts themselves
# ------------------------------------------------------------------------------------------
def _admin_url(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"chatsite-bench-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_database(args: argparse.Namespace) -> None:
    """Create the bench database if it is missing, and migrate it (once at a time)."""
    import psycopg
    from psycopg import sql

    admin_url, name = _admin_url(args.database_url)
    with _file_lock(name):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                log(f"creating database {name}")
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        env = server_env(args, prefix="chatsite-bench-setup")
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def seed(args: argparse.Namespace, plan: dict[str, Any]) -> dict[str, Any]:
    """Create the users and channels a benchmark needs (bench/seed.py) and mint their tokens.

    The users are new ones (a fresh name prefix) unless the plan names a ``user_prefix``.
    """
    plan = {"user_prefix": f"b{run_id()}-", **plan}
    env = server_env(args, prefix="chatsite-bench-setup")
    done = subprocess.run(
        [PYTHON, "-m", "bench.seed"],
        cwd=REPO_ROOT,
        env=env,
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.seed failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ------------------------------------------------------------------------------------------
# Server processes
# ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # Fields after the command name start at field 3 (state); utime and stime are 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE_SIZE


def machine_busy_seconds() -> float:
    """CPU seconds spent by all processes on the machine (all cores), from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def load_average() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Server:
    """One server process on a port; its CPU time and memory are read from /proc."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_path: str | None = None
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return proc_rss_bytes(self.pid)

    def http_url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self, path: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(port: int, path: str) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@dataclass
class ServerGroup:
    """Starts server processes and stops them all when the block ends."""

    log_dir: Path
    label: str = ""  # prefix of the log files, so that several benchmarks can share a folder
    servers: list[Server] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: Sequence[str],
        env: dict[str, str],
        *,
        port: int,
        ready_path: str | None = None,
    ) -> Server:
        """Launch a server; ``wait_ready()`` waits for every launched one to answer."""
        log_path = self.log_dir / f"{self.label}{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                list(command),
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(
            name=name, port=port, process=process, log_path=log_path, ready_path=ready_path
        )
        self.servers.append(server)
        return server

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for server in self.servers:
            while not server.ready:
                if server.process.poll() is not None:
                    raise RuntimeError(
                        f"{server.name} exited with {server.process.returncode}:\n"
                        f"{server.log_tail()}"
                    )
                if _port_open(server.port) and (
                    server.ready_path is None or _http_ok(server.port, server.ready_path)
                ):
                    server.ready = True
                elif time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{server.name} not ready after {timeout:.0f} s:\n{server.log_tail()}"
                    )
                else:
                    time.sleep(0.2)

    def start_daphne(self, name: str, app: str, env: dict[str, str], **kwargs: Any) -> Server:
        port = free_port()
        command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
        return self.start(name, command, env, port=port, **kwargs)

    def start_websockets_reference(self, env: dict[str, str]) -> Server:
        """The bare ``websockets`` broadcast server (bench/ref_websockets_server.py)."""
        port = free_port()
        command = [PYTHON, "-m", "bench.ref_websockets_server", "--port", str(port)]
        return self.start("websockets", command, env, port=port)

    def start_uvicorn(self, name: str, app: str, env: dict[str, str], **kwargs: Any) -> Server:
        port = free_port()
        command = [PYTHON, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--loop", "asyncio", "--http", "httptools", "--ws", "websockets"]
        command += ["--log-level", "warning", "--no-access-log", app]
        return self.start(name, command, env, port=port, **kwargs)

    def stop_all(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in self.servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)


@contextlib.contextmanager
def server_group(log_dir: str | None, label: str = "") -> Iterator[ServerGroup]:
    """Servers that stop when the block ends; their logs go to ``log_dir`` (or a temporary
    folder removed afterwards), named ``<label>-<server>.log``."""
    prefix = f"{label}-" if label else ""
    if log_dir:
        path = Path(log_dir)
        path.mkdir(parents=True, exist_ok=True)
        group = ServerGroup(log_dir=path, label=prefix)
        try:
            yield group
        finally:
            group.stop_all()
        return
    with tempfile.TemporaryDirectory(prefix="chatsite-bench-") as tmp:
        group = ServerGroup(log_dir=Path(tmp), label=prefix)
        try:
            yield group
        finally:
            group.stop_all()


def start_chatsite(
    group: ServerGroup, args: argparse.Namespace, *, prefix: str, processes: int
) -> list[Server]:
    """Launch N processes of chatsite (Daphne, or ``--chatsite-server``) sharing the bench
    database and Redis."""
    extra = dict(item.split("=", 1) for item in getattr(args, "chatsite_env", []))
    env = server_env(args, prefix=prefix, **extra)
    start = group.start_daphne
    if getattr(args, "chatsite_server", "daphne") == "uvicorn":
        start = group.start_uvicorn
    return [
        start(f"chatsite-{i}", "chatsite.asgi:application", env, ready_path="/healthz")
        for i in range(processes)
    ]


class CpuMeter:
    """Server, client, Redis and whole-machine CPU seconds spent between start() and stop()."""

    def __init__(self, servers: Sequence[Server], redis_url: str | None = None) -> None:
        self.servers = list(servers)
        self.redis_url = redis_url
        self._start: dict[str, float] = {}
        self.result: dict[str, float] = {}

    def _redis_cpu(self) -> float:
        if not self.redis_url:
            return 0.0
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            info = client.info("cpu")
        finally:
            client.close()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def _sample(self) -> dict[str, float]:
        return {
            "wall": time.perf_counter(),
            "server": sum(s.cpu_seconds() for s in self.servers),
            "client": self_cpu_seconds(),
            "redis": self._redis_cpu(),
            "machine": machine_busy_seconds(),
        }

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        delta = {key: end[key] - self._start[key] for key in end}
        self.result = {
            "wall_s": round(delta["wall"], 3),
            "server_cpu_s": round(delta["server"], 3),
            "client_cpu_s": round(delta["client"], 3),
            "redis_cpu_s": round(delta["redis"], 3),
            "machine_busy_cores": round(delta["machine"] / max(delta["wall"], 1e-9), 2),
        }
        return self.result


# ------------------------------------------------------------------------------------------
# Statistics and the summary
# ------------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """count, p50/p95/p99/max and mean in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"count": 0}

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "count": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p95_ms": ms(percentile(values, 95)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(values[-1]),
        "mean_ms": ms(sum(values) / len(values)),
    }


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0 or math.isnan(reference):
        return None
    if math.isnan(value):
        return None
    return round(value / reference, 2)


def linear_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys against xs."""
    if len(xs) < 2:
        return None
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def run_context(module: str) -> dict[str, Any]:
    """Where and how the benchmark ran, for the summary."""
    return {
        "command": shlex.join([".venv/bin/python", "-m", module, *sys.argv[1:]]),
        "commit": git_commit(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average_at_start": load_average(),
    }


def emit(summary: dict[str, Any]) -> None:
    """Print the one JSON summary on stdout."""
    summary.setdefault("load_average_at_end", load_average())
    print(json.dumps(summary, indent=2))


def run_main(
    parse_args: Callable[[list[str] | None], argparse.Namespace],
    main_async: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
    argv: list[str] | None = None,
) -> int:
    """A benchmark's entry point: parse, run, print the summary."""
    summary = asyncio.run(main_async(parse_args(argv)))
    emit(summary)
    return 0
