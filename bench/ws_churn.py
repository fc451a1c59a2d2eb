"""Connection churn: does a server's memory stay flat while clients come and go?

For each target (chatsite on one Daphne process, the bare ``websockets`` server, and the
Channels tutorial's consumer on Daphne), ``--steady`` connections stay open the whole run
while new ones connect at ``--rate`` per second, wait for the server's first frame (chatsite's
``welcome``), and close again, for ``--seconds``. The servers' RSS is sampled every second;
the summary gives, per target, the connects made and failed, and the RSS slope in MB per
minute over the second half of the run (the first half includes the allocator and caches
warming up) together with the RSS growth per connect over that half. A server that leaks
per connection shows a slope that grows with the connects; a flat one stays near zero.

With ``--tracemalloc DIR`` chatsite's process traces its allocations (chatsite/memory.py) and
writes three snapshots: before the steady connections open, after, and after the churn. The
summary then lists where the memory of an idle connection goes (the second against the first,
per steady connection) and what each churned connect left behind (the third against the
second, per connect), by source line. Tracing slows the server down several times over, so
its other numbers are not comparable with a run without it.

chatsite's users sit in channels of ``--users-per-channel``; each connect takes the next
user in turn, so presence changes and group joins happen as in real reconnects. Prints one
JSON summary.

    .venv/bin/python -m bench.ws_churn --rate 30 --steady 20 --seconds 180
    .venv/bin/python -m bench.ws_churn --targets chatsite --steady 1000 --rate 30 \
        --seconds 330 --tracemalloc /tmp/snapshots      # ~10,000 connects
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench import common
from bench.ws_idle import Pool, add_presence_argument, launch
from bench.wsclient import Endpoint, try_open_ready


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WebSocket connection churn benchmark")
    common.add_common_arguments(parser)
    parser.add_argument("--targets", default="chatsite,tutorial,websockets")
    parser.add_argument("--rate", type=float, default=30.0, help="connects per second")
    parser.add_argument("--steady", type=int, default=20, help="connections open throughout")
    parser.add_argument("--seconds", type=float, default=180.0, help="how long to churn")
    parser.add_argument("--users", type=int, default=200, help="chatsite users taking turns")
    parser.add_argument("--users-per-channel", type=int, default=50)
    parser.add_argument("--chatsite-processes", type=int, default=1)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    add_presence_argument(parser)
    parser.add_argument(
        "--tracemalloc",
        metavar="DIR",
        help="trace chatsite's allocations and write snapshots to DIR (slows it down)",
    )
    args = parser.parse_args(argv)
    if args.tracemalloc:
        Path(args.tracemalloc).mkdir(parents=True, exist_ok=True)
        args.chatsite_env.append(f"CHATSITE_TRACEMALLOC_DIR={args.tracemalloc}")
    # ws_idle's launch() seeds max(steps) users.
    args.steps = [max(args.users, args.steady)]
    return args


async def churn(
    args: argparse.Namespace, endpoints: list[Endpoint], tokens: list[str], stats: dict[str, int]
) -> None:
    """Connect at ``args.rate`` for ``args.seconds``; each connection closes once ready."""
    interval = 1.0 / args.rate
    started = time.monotonic()
    pending: set[asyncio.Task[None]] = set()

    async def one(index: int) -> None:
        endpoint = endpoints[index % len(endpoints)]
        token = tokens[index % len(tokens)] if tokens else ""
        opened = await try_open_ready(endpoint, token, subscribe=False)
        if opened is None:
            stats["failed"] += 1
            return
        stats["failed_attempts"] += opened.failed_attempts
        stats["connects"] += 1
        await opened.connection.close()

    index = 0
    while time.monotonic() - started < args.seconds:
        # Fixed schedule: a slow server gets the same arrivals, not fewer.
        task = asyncio.create_task(one(args.steady + index))
        pending.add(task)
        task.add_done_callback(pending.discard)
        index += 1
        await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
    if pending:
        await asyncio.wait(pending, timeout=30)
    stats["scheduled"] = index


async def take_snapshot(server: Any, directory: str) -> tracemalloc.Snapshot:
    """Ask a traced server for a snapshot (SIGUSR2) and load it once it is written."""
    pid = server.process.pid
    before = set(Path(directory).glob(f"{pid}-*.tracemalloc"))
    os.kill(pid, signal.SIGUSR2)
    async with asyncio.timeout(300):
        while True:
            new = set(Path(directory).glob(f"{pid}-*.tracemalloc")) - before
            if new:
                return tracemalloc.Snapshot.load(str(new.pop()))
            await asyncio.sleep(0.5)


def allocation_diff(
    after: tracemalloc.Snapshot, before: tracemalloc.Snapshot, per: int, top: int = 15
) -> dict[str, Any]:
    """The growth from ``before`` to ``after`` per ``per`` (connections or connects), in total
    and for the source lines that grew most."""
    stats = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in stats)
    blocks = sum(stat.count_diff for stat in stats)
    return {
        "per": per,
        "bytes_per": round(total / per, 1) if per else None,
        "blocks_per": round(blocks / per, 2) if per else None,
        "top_lines": [
            {
                "where": f"{stat.traceback[0].filename.split('site-packages/')[-1]}"
                f":{stat.traceback[0].lineno}",
                "bytes_per": round(stat.size_diff / per, 1) if per else None,
                "blocks_per": round(stat.count_diff / per, 2) if per else None,
            }
            for stat in sorted(stats, key=lambda s: -abs(s.size_diff))[:top]
        ],
    }


async def measure(
    name: str,
    args: argparse.Namespace,
    endpoints: list[Endpoint],
    servers: list[Any],
    tokens: list[str],
) -> dict[str, Any]:
    traced = args.tracemalloc if name == "chatsite" else None
    snapshots = [await take_snapshot(servers[0], traced)] if traced else []
    pool = Pool(endpoints, tokens)
    await pool.grow(args.steady, args.connect_concurrency)
    if traced:
        await asyncio.sleep(5)  # presence batches and group joins done
        snapshots.append(await take_snapshot(servers[0], traced))
    stats = {"connects": 0, "failed": 0, "failed_attempts": 0, "scheduled": 0}
    samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS bytes, connects)
    started = time.monotonic()
    churning = asyncio.create_task(churn(args, endpoints, tokens, stats))

    def sample() -> None:
        rss = sum(s.rss_bytes() for s in servers)
        samples.append((time.monotonic() - started, rss, stats["connects"]))

    try:
        while not churning.done():
            sample()
            await asyncio.wait({churning}, timeout=1.0)
        await churning
        sample()  # the end of the churn, so a short run's second half has two samples
        dropped = pool.dropped()
        if traced:
            await asyncio.sleep(10)  # closed connections cleaned up, idle groups unsubscribed
            snapshots.append(await take_snapshot(servers[0], traced))
    finally:
        await pool.close()
    half = [s for s in samples if s[0] >= samples[-1][0] / 2] if samples else []
    slope_per_s = common.linear_slope([s[0] for s in half], [float(s[1]) for s in half])
    connects_in_half = half[-1][2] - half[0][2] if len(half) > 1 else 0
    growth = half[-1][1] - half[0][1] if len(half) > 1 else 0
    common.log(
        f"{name}: {stats['connects']} connects, RSS {samples[-1][1] / 2**20:.1f} MiB, "
        f"slope {((slope_per_s or 0) * 60 / 1e6):.2f} MB/min over the second half"
    )
    memory: dict[str, Any] = {}
    if len(snapshots) == 3:
        memory = {
            "idle_connection": allocation_diff(snapshots[1], snapshots[0], len(pool.connections)),
            "churned_connect": allocation_diff(snapshots[2], snapshots[1], stats["connects"]),
        }
    return {
        **stats,
        **({"tracemalloc": memory} if memory else {}),
        "steady_connections": args.steady,
        "steady_dropped": dropped,
        "rss_start_bytes": samples[0][1] if samples else None,
        "rss_end_bytes": samples[-1][1] if samples else None,
        "rss_slope_mb_per_min_second_half": (
            round(slope_per_s * 60 / 1e6, 3) if slope_per_s is not None else None
        ),
        "rss_growth_per_connect_bytes_second_half": (
            round(growth / connects_in_half, 1) if connects_in_half else None
        ),
        "samples": [[round(t, 1), rss, connects] for t, rss, connects in samples],
        "servers_alive": all(s.process.poll() is None for s in servers),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    limit = common.raise_open_files_limit(args.steady * 3 + int(args.rate * 60) + 1024)
    summary: dict[str, Any] = {"benchmark": "ws_churn", **common.run_context("bench.ws_churn")}
    summary["open_files_limit"] = limit
    tag = common.run_id()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    results: dict[str, Any] = {}
    with common.server_group(args.log_dir, f"ws_churn-{tag}") as group:
        launched = [launch(target, args, group, tag) for target in targets]
        group.wait_ready()
        for name, servers, endpoints, tokens, _uses_redis in launched:
            results[name] = await measure(name, args, endpoints, servers, tokens)
    summary["config"] = {k: v for k, v in vars(args).items() if k != "log_dir"}
    summary["results"] = results
    summary["failed_total"] = sum(r["failed"] for r in results.values())
    summary["dropped_total"] = sum(r["steady_dropped"] for r in results.values())
    return summary


def main(argv: list[str] | None = None) -> int:
    return common.run_main(parse_args, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
