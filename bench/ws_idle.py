"""Idle WebSocket connections: memory per connection, idle CPU, handshake time.

Connections are opened in steps (default up to 5000) against chatsite (one Daphne process by
default, so its memory is one process's) and against the bare ``websockets`` server
(bench/ref_websockets_server.py) and the Channels-tutorial consumer on Daphne
(bench/ref_tutorial/, all connections in one room), each measured the same way:

- RSS of the server processes after each step, once no more frames arrive; the least-squares
  slope is the memory per connection;
- CPU of the server processes (and Redis) over ``--idle-seconds`` with every connection open
  and silent, as a share of one core;
- handshake time (TCP connect to the 101 answer) and ready time (to the server's ``welcome``),
  p50 / p99;
- connections the server dropped while idle.

chatsite's users are distinct and sit in channels of ``--users-per-channel`` members, so
presence notices reach a realistic number of neighbours. Prints one JSON summary.

    .venv/bin/python -m bench.ws_idle --steps 0,1000,2000,3000,4000,5000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection

from bench import common
from bench.wsclient import Endpoint, drain, gather_limited, try_open_ready


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="idle WebSocket connections benchmark")
    common.add_common_arguments(parser)
    parser.add_argument("--steps", type=common.int_list, default=[0, 1000, 2000, 3000, 4000, 5000])
    parser.add_argument("--targets", default="chatsite,tutorial,websockets")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--users-per-channel", type=int, default=50)
    parser.add_argument("--chatsite-processes", type=int, default=1)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    add_presence_argument(parser)
    return parser.parse_args(argv)


def add_presence_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--presence",
        choices=("batch", "single"),
        default="batch",
        help="chatsite clients ask for batched presence events (the web client does) or not",
    )


class Pool:
    """The open connections to one target, each with a task that reads what it is sent."""

    def __init__(self, endpoints: list[Endpoint], tokens: list[str]) -> None:
        self.endpoints = endpoints
        self.tokens = tokens
        self.connections: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.handshakes: list[float] = []
        self.ready: list[float] = []
        self.closing = False
        self.failed_connects = 0
        self.gave_up = 0  # connections that could not be opened at all

    async def grow(self, total: int, concurrency: int) -> None:
        start = len(self.connections)

        async def one(k: int) -> ClientConnection | None:
            i = start + k
            endpoint = self.endpoints[i % len(self.endpoints)]
            token = self.tokens[i] if self.tokens else ""
            opened = await try_open_ready(endpoint, token, subscribe=False)
            if opened is None:
                self.gave_up += 1
                return None
            self.handshakes.append(opened.handshake_s)
            self.ready.append(opened.ready_s)
            self.failed_connects += opened.failed_attempts
            return opened.connection

        connected = await gather_limited(one, total - start, concurrency)
        added = [c for c in connected if c is not None]
        self.connections.extend(added)
        self.readers.extend(asyncio.create_task(drain(c)) for c in added)

    def dropped(self) -> int:
        """Connections that ended while we held them open."""
        return sum(1 for task in self.readers if task.done())

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)


async def settle(servers: list[common.Server], quiet_cpu_s: float = 0.015) -> None:
    """Wait (at most 15 s) until the servers spend under ``quiet_cpu_s`` CPU in 0.5 s.

    Connection work (presence, group joins) is over by then; the heartbeat work of idle
    connections is what the idle measurement is about, so it does not have to stop first.
    """
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in servers)
        await asyncio.sleep(0.5)
        if sum(s.cpu_seconds() for s in servers) - before < quiet_cpu_s:
            return


async def measure(
    name: str,
    args: argparse.Namespace,
    endpoints: list[Endpoint],
    servers: list[common.Server],
    tokens: list[str],
    uses_redis: bool,
) -> dict[str, Any]:
    pool = Pool(endpoints, tokens)
    steps: list[dict[str, Any]] = []
    try:
        for count in args.steps:
            before = len(pool.connections)
            cpu_before = sum(s.cpu_seconds() for s in servers)
            started = time.perf_counter()
            await pool.grow(count, args.connect_concurrency)
            connect_seconds = time.perf_counter() - started
            added = len(pool.connections) - before
            await settle(servers)
            cpu_spent = sum(s.cpu_seconds() for s in servers) - cpu_before
            rss = sum(s.rss_bytes() for s in servers)
            steps.append(
                {
                    "connections": len(pool.connections),
                    "rss_bytes": rss,
                    "connects_per_s": round(added / connect_seconds, 1) if added > 0 else None,
                    "server_cpu_ms_per_connect": (
                        round(cpu_spent / added * 1000, 2) if added > 0 else None
                    ),
                }
            )
            common.log(f"{name}: {count} connections, RSS {rss / 2**20:.1f} MiB")
        meter = common.CpuMeter(servers, args.redis_url if uses_redis else None)
        meter.start()
        await asyncio.sleep(args.idle_seconds)
        cpu = meter.stop()
        dropped = pool.dropped()
    finally:
        pool.closing = True
        await pool.close()
    slope = common.linear_slope(
        [float(s["connections"]) for s in steps], [float(s["rss_bytes"]) for s in steps]
    )
    idle_core_share = cpu["server_cpu_s"] / cpu["wall_s"] if cpu["wall_s"] else None
    return {
        "steps": steps,
        "rss_per_connection_kb": round(slope / 1024, 1) if slope is not None else None,
        "idle": {
            "connections": steps[-1]["connections"],
            **cpu,
            "server_core_percent": (
                round(idle_core_share * 100, 2) if idle_core_share is not None else None
            ),
        },
        "handshake": common.latency_summary(pool.handshakes),
        "ready": common.latency_summary(pool.ready),
        "dropped_while_idle": dropped,
        "failed_connect_attempts": pool.failed_connects,
        "connections_not_opened": pool.gave_up,
        "servers_alive_after_mass_disconnect": all(s.process.poll() is None for s in servers),
    }


Launched = tuple[str, list[common.Server], list[Endpoint], list[str], bool]


def launch(target: str, args: argparse.Namespace, group: common.ServerGroup, tag: str) -> Launched:
    """Start a target's server (and seed chatsite's users); does not wait for it."""
    total = max(args.steps)
    if target == "chatsite":
        servers = common.start_chatsite(
            group, args, prefix=f"chatsite-bench-{tag}", processes=args.chatsite_processes
        )
        common.prepare_database(args)
        size = max(1, args.users_per_channel)
        seeded = common.seed(
            args,
            {
                "users": total,
                "channels": [
                    {
                        "name": f"bench-idle-{tag}-{c}",
                        "members": list(range(c * size, min(total, (c + 1) * size))),
                    }
                    for c in range((total + size - 1) // size)
                ],
            },
        )
        query = "presence=batch" if args.presence == "batch" else ""
        endpoints = [Endpoint("chatsite", s.ws_url(), query=query) for s in servers]
        tokens = [user["token"] for user in seeded["users"]]
        return target, servers, endpoints, tokens, True
    if target == "tutorial":
        env = common.server_env(
            args,
            prefix=f"bench-tutorial-{tag}",
            DJANGO_SETTINGS_MODULE="bench.ref_tutorial.settings",
        )
        server = group.start_daphne("tutorial", "bench.ref_tutorial.asgi:application", env)
        return target, [server], [Endpoint("tutorial", server.ws_url(), "idle")], [], True
    if target == "websockets":
        server = group.start_websockets_reference(common.server_env(args, prefix="unused"))
        return target, [server], [Endpoint("websockets", server.ws_url())], [], False
    raise SystemExit(f"unknown target {target!r}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    limit = common.raise_open_files_limit(max(args.steps) * 3 + 1024)
    summary: dict[str, Any] = {"benchmark": "ws_idle", **common.run_context("bench.ws_idle")}
    summary["open_files_limit"] = limit
    tag = common.run_id()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    results: dict[str, Any] = {}
    with common.server_group(args.log_dir, f"ws_idle-{tag}") as group:
        # Both targets' servers start together; they are measured one after the other.
        launched = [launch(target, args, group, tag) for target in targets]
        group.wait_ready()
        for name, servers, endpoints, tokens, uses_redis in launched:
            results[name] = await measure(name, args, endpoints, servers, tokens, uses_redis)
    summary["config"] = {k: v for k, v in vars(args).items() if k != "log_dir"}
    summary["results"] = results
    mine, bare, tutorial = (results.get(t) for t in ("chatsite", "websockets", "tutorial"))
    if mine and tutorial:
        summary["ratios_vs_tutorial"] = {
            "rss_per_connection_vs_tutorial": common.ratio(
                mine["rss_per_connection_kb"], tutorial["rss_per_connection_kb"]
            ),
            "handshake_p99_vs_tutorial": common.ratio(
                mine["handshake"].get("p99_ms"), tutorial["handshake"].get("p99_ms")
            ),
        }
    if mine and bare:
        summary["ratios"] = {
            "rss_per_connection_vs_websockets": common.ratio(
                mine["rss_per_connection_kb"], bare["rss_per_connection_kb"]
            ),
            "handshake_p99_vs_websockets": common.ratio(
                mine["handshake"].get("p99_ms"), bare["handshake"].get("p99_ms")
            ),
            "idle_cpu_vs_websockets": common.ratio(
                mine["idle"]["server_cpu_s"], bare["idle"]["server_cpu_s"]
            ),
        }
    summary["dropped_total"] = sum(r["dropped_while_idle"] for r in results.values())
    return summary


def main(argv: list[str] | None = None) -> int:
    return common.run_main(parse_args, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
