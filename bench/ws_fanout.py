"""WebSocket fan-out: one sender, N subscribers in one channel, against two references.

For each N (default 10, 100, 1000) and each target, the subscribers connect (spread over the
target's processes), one sender sends at 1 message/s (the steady phase), then at rising rates
until the p99 of a step passes the limit (1 s) or a delivery is lost: the last steps show
the deliveries/s at saturation. Targets, each started by this script:

- ``chatsite``: chatsite on two Daphne processes (PostgreSQL + Redis); the sender uses
  ``message.send``, so every message is validated, stored and given its seq;
- ``tutorial``: the Django Channels tutorial's consumer (group_send per message, no database)
  on Daphne with the Redis layer (bench/ref_tutorial/), one process unless told otherwise;
- ``websockets``: a bare ``websockets`` broadcast server (bench/ref_websockets_server.py).

Latency is from the sender's send() to a subscriber's receipt, both on this process's
monotonic clock. A step waits ``--drain-seconds`` for its deliveries; what has not arrived by
then counts as undelivered in the window (and ends the ramp). After the last step a final
drain waits for stragglers: losses are (subscriber, message) pairs that never arrived, late
deliveries the rest. Seq gaps are holes in the seq numbers a subscriber saw. Prints one JSON
summary.

    .venv/bin/python -m bench.ws_fanout --subscribers 10,100,1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection

from bench import common
from bench.wsclient import (
    Deliveries,
    Endpoint,
    drain,
    gather_limited,
    make_ready,
    open_connection,
    read_into,
    send_frame,
    try_open_ready,
    wait_for_frame,
)

# chatsite's consumer allows a socket 20 frames/s (more closes it with 4429).
SENDS_PER_SOCKET = 15
# 750 messages/s: far above what one channel's writes reach (each takes the channel's row lock).
MAX_SENDER_SOCKETS = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WebSocket fan-out benchmark")
    common.add_common_arguments(parser)
    parser.add_argument("--subscribers", type=common.int_list, default=[10, 100, 1000])
    parser.add_argument(
        "--targets", default="chatsite,tutorial,websockets", help="comma list of targets"
    )
    parser.add_argument("--steady-rate", type=float, default=1.0, help="messages/s")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument(
        "--ramp",
        type=common.float_list,
        default=[2, 5, 10, 20, 50, 100, 200, 400, 800, 1600, 3200],
    )
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument(
        "--final-drain-seconds",
        type=float,
        default=60.0,
        help="after the ramp, how long to wait for late deliveries before counting losses",
    )
    parser.add_argument("--p99-limit-ms", type=float, default=1000.0)
    parser.add_argument("--chatsite-processes", type=int, default=2)
    parser.add_argument("--tutorial-processes", type=int, default=1)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--padding", type=int, default=120, help="extra characters of content")
    parser.add_argument(
        "--distinct-users",
        type=int,
        default=0,
        help="chatsite: subscribers take turns over this many users (0: one user each)",
    )
    return parser.parse_args(argv)


class Run:
    """One target at one N: its connections and what they received."""

    def __init__(
        self,
        args: argparse.Namespace,
        endpoints: list[Endpoint],
        servers: list[common.Server],
        tokens: list[str],
        uses_redis: bool,
    ) -> None:
        self.args = args
        self.endpoints = endpoints
        self.servers = servers
        self.tokens = tokens  # [sender, subscriber 0, subscriber 1, ...] (chatsite only)
        self.uses_redis = uses_redis
        self.sink = Deliveries()
        self.subscribers: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.senders: list[ClientConnection] = []
        self.phases: list[tuple[dict[int, float], dict[str, Any]]] = []
        self.failed_connects = 0
        self.gave_up = 0  # subscribers that could not connect at all
        self.next_index = 0
        self.padding = "x" * args.padding

    def token(self, position: int) -> str:
        return self.tokens[position] if self.tokens else ""

    async def connect(self, count: int) -> dict[str, Any]:
        times: list[float] = []

        async def one(i: int) -> ClientConnection | None:
            endpoint = self.endpoints[i % len(self.endpoints)]
            distinct = self.args.distinct_users or count
            opened = await try_open_ready(endpoint, self.token(i % distinct + 1))
            if opened is None:
                self.gave_up += 1
                return None
            times.append(opened.ready_s)
            self.failed_connects += opened.failed_attempts
            return opened.connection

        connected = await gather_limited(one, count, self.args.connect_concurrency)
        self.subscribers = [c for c in connected if c is not None]
        for i, connection in enumerate(self.subscribers):
            self.tasks.append(asyncio.create_task(read_into(connection, i, self.sink)))
        endpoint = self.endpoints[0]
        for _ in range(self.sender_count()):
            sender = await open_connection(endpoint, self.token(0))
            await make_ready(sender, endpoint, subscribe=False)
            if endpoint.kind == "chatsite":
                # The sending user is a member; its sockets need not receive the fan-out.
                await sender.send(
                    json.dumps({"type": "unsubscribe", "channel_id": endpoint.channel_id})
                )
                await wait_for_frame(sender, lambda e: e.get("type") == "unsubscribed", 60)
            self.senders.append(sender)
            self.tasks.append(asyncio.create_task(drain(sender)))
        return common.latency_summary(times)

    def sender_count(self) -> int:
        """chatsite lets one socket send 20 frames/s; faster rates use more sockets of the
        same sending user, taking turns. The references have no such limit: one socket."""
        if self.endpoints[0].kind != "chatsite":
            return 1
        fastest = max([self.args.steady_rate, *self.args.ramp])
        return max(1, min(MAX_SENDER_SOCKETS, math.ceil(fastest / SENDS_PER_SOCKET)))

    async def settle(self, timeout: float = 600.0) -> dict[str, Any]:
        """Wait until the connect storm is over: no frame for a second and the servers idle.

        With chatsite every new user's ``presence`` goes to everyone in the channel, so N
        users connecting cause about N²/2 layer messages; most never reach a client (the
        consumer tells a client once per user), so the servers' CPU is watched as well.
        Returns how long that took and how many frames came meanwhile.
        """
        clock = time.perf_counter
        started = clock()
        frames = self.sink.other_frames
        quiet_since = clock()
        cpu = sum(s.cpu_seconds() for s in self.servers)
        while clock() - started < timeout:
            await asyncio.sleep(0.5)
            now_cpu = sum(s.cpu_seconds() for s in self.servers)
            busy = now_cpu - cpu > 0.05 * len(self.servers)
            cpu = now_cpu
            if self.sink.other_frames != frames or busy:
                frames = self.sink.other_frames
                quiet_since = clock()
            elif clock() - quiet_since >= 1.0:
                break
        return {"seconds": round(clock() - started, 2), "frames": self.sink.other_frames}

    async def phase(self, rate: float, seconds: float) -> dict[str, Any]:
        """Send at ``rate`` for ``seconds``, wait for the deliveries, and measure them."""
        assert self.senders
        n = len(self.subscribers)
        count = max(1, round(rate * seconds))
        first = self.next_index
        self.next_index += count
        self.sink.watch_from, self.sink.watched = first, 0
        arrivals_before = len(self.sink.arrivals)
        sent_at: dict[int, float] = {}
        meter = common.CpuMeter(self.servers, self.args.redis_url if self.uses_redis else None)
        meter.start()
        clock = time.perf_counter
        started = clock()
        for k in range(count):
            delay = started + k / rate - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = send_frame(self.endpoints[0], first + k, self.padding)
            sent_at[first + k] = clock()
            await self.senders[k % len(self.senders)].send(frame)
        send_seconds = clock() - started
        expected = count * n
        deadline = clock() + self.args.drain_seconds
        while self.sink.watched < expected and clock() < deadline:
            await asyncio.sleep(0.02)
        cpu = meter.stop()
        result = self._measure(rate, count, n, sent_at, arrivals_before, send_seconds, cpu)
        self.phases.append((sent_at, result))
        return result

    async def final_drain(self) -> float:
        """Wait until no delivery has arrived for 1 s (at most ``--final-drain-seconds``)."""
        clock = time.perf_counter
        started = quiet_since = clock()
        count = len(self.sink.arrivals)
        while clock() - quiet_since < 1.0 and clock() - started < self.args.final_drain_seconds:
            await asyncio.sleep(0.1)
            if len(self.sink.arrivals) != count:
                count = len(self.sink.arrivals)
                quiet_since = clock()
        return round(clock() - started, 2)

    def account(self) -> None:
        """Count each phase's losses (never delivered) and late deliveries (after its window)."""
        n = len(self.subscribers)
        per_index: dict[int, int] = {}
        for index, _subscriber in {(i, sub) for i, sub, _t in self.sink.arrivals}:
            per_index[index] = per_index.get(index, 0) + 1
        for sent_at, result in self.phases:
            received = sum(per_index.get(index, 0) for index in sent_at)
            result["losses"] = len(sent_at) * n - received
            result["late"] = result["undelivered_in_window"] - result["losses"]

    def _measure(
        self,
        rate: float,
        count: int,
        n: int,
        sent_at: dict[int, float],
        arrivals_before: int,
        send_seconds: float,
        cpu: dict[str, float],
    ) -> dict[str, Any]:
        latencies: list[float] = []
        last_recipient: dict[int, float] = {}
        seen: set[tuple[int, int]] = set()
        duplicates = 0
        last_arrival = 0.0
        for index, subscriber, arrived in self.sink.arrivals[arrivals_before:]:
            sent = sent_at.get(index)
            if sent is None:
                continue  # a late delivery of an earlier phase
            if (index, subscriber) in seen:
                duplicates += 1
                continue
            seen.add((index, subscriber))
            latency = arrived - sent
            latencies.append(latency)
            last_recipient[index] = max(last_recipient.get(index, 0.0), latency)
            last_arrival = max(last_arrival, arrived)
        delivered = len(seen)
        span = (last_arrival - min(sent_at.values())) if delivered else 0.0
        summary = common.latency_summary(latencies)
        return {
            "rate_per_s": rate,
            "messages": count,
            "achieved_send_rate_per_s": round(count / send_seconds, 1) if send_seconds else None,
            "deliveries": delivered,
            # Not delivered within the drain window; "losses" (filled in by account()) are
            # those that never arrived, even after the final drain.
            "undelivered_in_window": count * n - delivered,
            "losses": None,
            "late": None,
            "duplicates": duplicates,
            "delivery": summary,
            "last_recipient": common.latency_summary(list(last_recipient.values())),
            "deliveries_per_s": round(delivered / span, 1) if span > 0 else None,
            "cpu": cpu,
            "server_cpu_us_per_delivery": (
                round(cpu["server_cpu_s"] / delivered * 1e6, 1) if delivered else None
            ),
        }

    def seq_gaps(self) -> int:
        gaps = 0
        for seqs in self.sink.seqs.values():
            unique = sorted(set(seqs))
            if unique:
                gaps += (unique[-1] - unique[0] + 1) - len(unique)
        return gaps

    async def close(self) -> None:
        """Everyone disconnects at once (docs/operations.md, "Scaling out": a mass disconnect)."""
        connections = [*self.subscribers, *self.senders]
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def measure(
    args: argparse.Namespace,
    n: int,
    endpoints: list[Endpoint],
    servers: list[common.Server],
    tokens: list[str],
    uses_redis: bool,
) -> dict[str, Any]:
    run = Run(args, endpoints, servers, tokens, uses_redis)
    name = endpoints[0].kind
    try:
        common.log(f"{name} N={n}: connecting")
        connect = await run.connect(n)
        settle = await run.settle()
        common.log(f"{name} N={n}: settled after {settle['seconds']} s, {settle['frames']} frames")
        common.log(f"{name} N={n}: steady {args.steady_rate}/s for {args.steady_seconds} s")
        steady = await run.phase(args.steady_rate, args.steady_seconds)
        ramp: list[dict[str, Any]] = []
        for rate in args.ramp:
            step = await run.phase(rate, args.step_seconds)
            ramp.append(step)
            p99 = step["delivery"].get("p99_ms", float("inf"))
            common.log(
                f"{name} N={n}: {rate}/s -> p99 {p99} ms, {step['deliveries_per_s']} deliveries/s,"
                f" undelivered in window {step['undelivered_in_window']}"
            )
            if step["undelivered_in_window"] or p99 > args.p99_limit_ms:
                break
        final_drain = await run.final_drain()
        run.account()
    finally:
        await run.close()
    rates = [s["deliveries_per_s"] or 0.0 for s in [steady, *ramp]]
    best = max(range(len(rates)), key=rates.__getitem__)
    saturated = bool(ramp) and (
        ramp[-1]["undelivered_in_window"] > 0
        or ramp[-1]["delivery"].get("p99_ms", float("inf")) > args.p99_limit_ms
    )
    alive = all(server.process.poll() is None for server in servers)
    return {
        "subscribers": n,
        "connect": connect,
        "settle_after_connect": settle,
        "failed_connect_attempts": run.failed_connects,
        "subscribers_connected": len(run.subscribers),
        "subscribers_not_connected": run.gave_up,
        "steady": steady,
        "ramp": ramp,
        "saturation": {
            "reached": saturated,
            "deliveries_per_s": rates[best],
            "at_rate_per_s": ([steady, *ramp][best])["rate_per_s"],
            "server_cpu_us_per_delivery": ([steady, *ramp][best])["server_cpu_us_per_delivery"],
        },
        "losses": steady["losses"] + sum(step["losses"] for step in ramp),
        "losses_steady": steady["losses"],
        "late_deliveries": steady["late"] + sum(step["late"] for step in ramp),
        "final_drain_s": final_drain,
        "seq_gaps": run.seq_gaps(),
        "errors": run.sink.errors[:5],
        "servers_alive_after_mass_disconnect": alive,
    }


@dataclass
class Target:
    """A launched target: its servers, and per N the endpoints and tokens to measure with."""

    name: str
    servers: list[common.Server]
    endpoints_for: Callable[[int], list[Endpoint]]
    tokens: list[str]
    uses_redis: bool


def launch(
    target: str, args: argparse.Namespace, group: common.ServerGroup, run_tag: str
) -> Target:
    """Start a target's servers (and seed chatsite's users); does not wait for them."""
    if target == "chatsite":
        servers = common.start_chatsite(
            group,
            args,
            prefix=f"chatsite-bench-{run_tag}",
            processes=args.chatsite_processes,
        )
        common.prepare_database(args)
        seeded = common.seed(
            args,
            {
                "users": max(args.subscribers) + 1,
                "channels": [
                    {"name": f"bench-fanout-{run_tag}-{n}", "members": list(range(n + 1))}
                    for n in args.subscribers
                ],
            },
        )
        channel_of = {n: c["id"] for n, c in zip(args.subscribers, seeded["channels"], strict=True)}
        return Target(
            target,
            servers,
            lambda n: [Endpoint("chatsite", s.ws_url(), channel_id=channel_of[n]) for s in servers],
            [user["token"] for user in seeded["users"]],
            True,
        )
    if target == "tutorial":
        env = common.server_env(
            args,
            prefix=f"bench-tutorial-{run_tag}",
            DJANGO_SETTINGS_MODULE="bench.ref_tutorial.settings",
        )
        servers = [
            group.start_daphne(f"tutorial-{i}", "bench.ref_tutorial.asgi:application", env)
            for i in range(args.tutorial_processes)
        ]
        return Target(
            target,
            servers,
            lambda n: [Endpoint("tutorial", s.ws_url(), channel_id=f"bench{n}") for s in servers],
            [],
            True,
        )
    if target == "websockets":
        server = group.start_websockets_reference(common.server_env(args, prefix="unused"))
        return Target(
            target, [server], lambda n: [Endpoint("websockets", server.ws_url())], [], False
        )
    raise SystemExit(f"unknown target {target!r}")


def ratios(results: dict[str, dict[str, Any]], subscribers: list[int]) -> dict[str, Any]:
    """chatsite against each reference, per N."""
    out: dict[str, Any] = {}
    chatsite = results.get("chatsite", {})
    for n in map(str, subscribers):
        if n not in chatsite:
            continue
        mine = chatsite[n]
        row: dict[str, Any] = {}
        for reference in ("websockets", "tutorial"):
            theirs = results.get(reference, {}).get(n)
            if not theirs:
                continue
            for key in ("p50_ms", "p99_ms"):
                row[f"steady_{key}_vs_{reference}"] = common.ratio(
                    mine["steady"]["delivery"].get(key), theirs["steady"]["delivery"].get(key)
                )
            row[f"last_recipient_p99_vs_{reference}"] = common.ratio(
                mine["steady"]["last_recipient"].get("p99_ms"),
                theirs["steady"]["last_recipient"].get("p99_ms"),
            )
            row[f"saturation_deliveries_per_s_vs_{reference}"] = common.ratio(
                mine["saturation"]["deliveries_per_s"], theirs["saturation"]["deliveries_per_s"]
            )
        out[n] = row
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    common.raise_open_files_limit(max(args.subscribers) * 4 + 1024)
    summary: dict[str, Any] = {"benchmark": "ws_fanout", **common.run_context("bench.ws_fanout")}
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    run_tag = common.run_id()
    results: dict[str, Any] = {}
    with common.server_group(args.log_dir, f"ws_fanout-{run_tag}") as group:
        # Every target's servers start together; they are measured one after the other.
        launched = [launch(target, args, group, run_tag) for target in targets]
        group.wait_ready()
        # Per N, the targets run back to back, so that what else the machine does changes
        # little between chatsite and its references.
        for n in args.subscribers:
            for target in launched:
                results.setdefault(target.name, {})[str(n)] = await measure(
                    args,
                    n,
                    target.endpoints_for(n),
                    target.servers,
                    target.tokens,
                    target.uses_redis,
                )
    summary["config"] = {k: v for k, v in vars(args).items() if k != "log_dir"}
    summary["results"] = results
    summary["ratios"] = ratios(results, args.subscribers)
    # How cost grows with N: server CPU per delivery, steady (1/s) and at the busiest step.
    summary["server_cpu_us_per_delivery"] = {
        target: {
            n: {
                "steady": r["steady"]["server_cpu_us_per_delivery"],
                "saturation": r["saturation"]["server_cpu_us_per_delivery"],
            }
            for n, r in by_n.items()
        }
        for target, by_n in results.items()
    }
    summary["losses_total"] = sum(r["losses"] for t in results.values() for r in t.values())
    summary["losses_steady_total"] = sum(
        r["losses_steady"] for t in results.values() for r in t.values()
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    return common.run_main(parse_args, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
