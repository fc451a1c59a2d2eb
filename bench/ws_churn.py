"""Connection churn: does a server's memory stay flat while clients come and go?

For each target (chatsite on one Daphne process, the bare ``websockets`` server, and the
Channels tutorial's consumer on Daphne), ``--steady`` connections stay open the whole run
while new ones connect at ``--rate`` per second, wait for the server's first frame (chatsite's
``welcome``), and close again, for ``--seconds``. The servers' RSS is sampled every second;
the summary gives, per target, the connects made and failed, and the RSS slope in MB per
minute over the second half of the run (the first half includes the allocator and caches
warming up) together with the RSS growth per connect over that half. A server that leaks
per connection shows a slope that grows with the connects; a flat one stays near zero.

chatsite's users sit in channels of ``--users-per-channel``; each connect takes the next
user in turn, so presence changes and group joins happen as in real reconnects. Prints one
JSON summary.

    .venv/bin/python -m bench.ws_churn --rate 30 --steady 20 --seconds 180
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from bench import common
from bench.ws_idle import Pool, launch
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
    args = parser.parse_args(argv)
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


async def measure(
    name: str,
    args: argparse.Namespace,
    endpoints: list[Endpoint],
    servers: list[Any],
    tokens: list[str],
) -> dict[str, Any]:
    pool = Pool(endpoints, tokens)
    await pool.grow(args.steady, args.connect_concurrency)
    stats = {"connects": 0, "failed": 0, "failed_attempts": 0, "scheduled": 0}
    samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS bytes, connects)
    started = time.monotonic()
    churning = asyncio.create_task(churn(args, endpoints, tokens, stats))
    try:
        while not churning.done():
            samples.append(
                (
                    time.monotonic() - started,
                    sum(s.rss_bytes() for s in servers),
                    stats["connects"],
                )
            )
            await asyncio.wait({churning}, timeout=1.0)
        await churning
        dropped = pool.dropped()
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
    return {
        **stats,
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
