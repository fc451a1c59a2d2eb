"""POST /api/chat/messages under load, against a plain Django JSON view served the same way.

Both run on two Daphne processes each (chatsite on PostgreSQL + Redis; the reference is
bench/ref_django: chatsite's settings and middleware with one JSON view, no DRF, no JWT, no
database). Clients alternate between the two processes over keep-alive connections.

- closed loop: ``--clients`` clients (distinct users, each posting to its own channel), each
  sending its next request when the last one answered: throughput, p50 / p95 / p99, errors;
- open loop: a fixed arrival rate (``--rate`` requests/s, rotating over the users), latency
  measured from each request's scheduled start, so a slow server cannot hide its queue.

Prints one JSON summary with the ratios chatsite / reference.

    .venv/bin/python -m bench.http_post --clients 50 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench import common

# Targets from issue 9 (docs/performance.md).
TARGET_CLOSED_P95_MS = 100.0
TARGET_THROUGHPUT_RATIO = 0.25
TARGET_OPEN_P95_MS = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="POST /api/chat/messages benchmark")
    common.add_common_arguments(parser)
    parser.add_argument("--clients", type=int, default=50, help="closed-loop clients")
    parser.add_argument("--duration", type=float, default=20.0, help="closed loop, seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="not recorded, seconds")
    parser.add_argument("--rate", type=float, default=100.0, help="open loop, requests/s")
    parser.add_argument("--open-seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes per target")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate reference and chatsite this many times per mode (results pooled)",
    )
    return parser.parse_args(argv)


@dataclass
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def failed(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])


async def send(session: aiohttp.ClientSession, request: Request, outcome: Outcome) -> bool:
    try:
        async with session.post(request.url, data=request.body, headers=request.headers) as reply:
            body = await reply.read()
            if reply.status != 201:
                outcome.failed(f"{reply.status} {body[:200]!r}")
                return False
    except (aiohttp.ClientError, TimeoutError) as error:
        outcome.failed(repr(error))
        return False
    return True


async def closed_loop(
    session: aiohttp.ClientSession,
    make_request: Callable[[int], Request],
    clients: int,
    warmup: float,
    duration: float,
) -> tuple[Outcome, float]:
    """Each client sends its next request as soon as the previous one is answered."""
    outcome = Outcome()
    clock = time.perf_counter
    record_from = clock() + warmup
    stop_at = record_from + duration

    async def client(i: int) -> None:
        while True:
            started = clock()
            if started >= stop_at:
                return
            ok = await send(
                session, make_request(i), outcome if started >= record_from else Outcome()
            )
            if ok and started >= record_from:
                outcome.latencies.append(clock() - started)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return outcome, duration


async def open_loop(
    session: aiohttp.ClientSession,
    make_request: Callable[[int], Request],
    rate: float,
    seconds: float,
) -> Outcome:
    """Start a request every 1/rate seconds whatever the answers; latency from the schedule."""
    outcome = Outcome()
    clock = time.perf_counter
    tasks: list[asyncio.Task[None]] = []

    async def one(k: int, scheduled: float) -> None:
        if await send(session, make_request(k), outcome):
            outcome.latencies.append(clock() - scheduled)

    start = clock() + 0.05
    for k in range(max(1, round(rate * seconds))):
        scheduled = start + k / rate
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, scheduled)))
    await asyncio.gather(*tasks)
    return outcome


def result_of(outcome: Outcome, seconds: float, cpu: dict[str, float]) -> dict[str, Any]:
    done = len(outcome.latencies)
    return {
        "requests": done,
        "errors": outcome.errors,
        "error_samples": outcome.error_samples,
        "throughput_per_s": round(done / seconds, 1) if seconds else None,
        "latency": common.latency_summary(outcome.latencies),
        "cpu": cpu,
        "server_cpu_ms_per_request": round(cpu["server_cpu_s"] / done * 1000, 2) if done else None,
    }


async def measure_target(
    name: str,
    servers: list[common.Server],
    make_request: Callable[[int], Request],
    args: argparse.Namespace,
    mode: str,
) -> Round:
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    meter = common.CpuMeter(servers, args.redis_url)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if mode == "closed":
            common.log(f"{name}: closed loop, {args.clients} clients, {args.duration} s")
            # The warm-up runs outside the CPU meter; the meter covers the recorded part.
            await closed_loop(session, make_request, args.clients, args.warmup, 0.0)
            meter.start()
            outcome, seconds = await closed_loop(
                session, make_request, args.clients, 0.0, args.duration
            )
        else:
            common.log(f"{name}: open loop, {args.rate}/s for {args.open_seconds} s")
            meter.start()
            outcome = await open_loop(session, make_request, args.rate, args.open_seconds)
            seconds = args.open_seconds
        cpu = meter.stop()
    result = result_of(outcome, seconds, cpu)
    common.log(
        f"{name} {mode}: {result['throughput_per_s']}/s, p95 {result['latency'].get('p95_ms')} ms,"
        f" errors {result['errors']}"
    )
    return Round(outcome, seconds, cpu)


@dataclass
class Round:
    outcome: Outcome
    seconds: float
    cpu: dict[str, float]


def combine(rounds: list[Round]) -> dict[str, Any]:
    """One result from several rounds: latencies pooled, counts and CPU added up."""
    outcome = Outcome()
    for one in rounds:
        outcome.latencies.extend(one.outcome.latencies)
        outcome.errors += one.outcome.errors
        outcome.error_samples.extend(one.outcome.error_samples[: 5 - len(outcome.error_samples)])
    cpu = {key: round(sum(r.cpu[key] for r in rounds), 3) for key in rounds[0].cpu}
    cpu["machine_busy_cores"] = round(cpu["machine_busy_cores"] / len(rounds), 2)
    result = result_of(outcome, sum(r.seconds for r in rounds), cpu)
    result["rounds"] = len(rounds)
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"benchmark": "http_post", **common.run_context("bench.http_post")}
    tag = common.run_id()
    with common.server_group(args.log_dir, f"http_post-{tag}") as group:
        # The servers start while the database is migrated and seeded.
        chatsite = common.start_chatsite(
            group, args, prefix=f"chatsite-bench-{tag}", processes=args.processes
        )
        reference_env = common.server_env(
            args,
            prefix=f"chatsite-bench-ref-{tag}",
            DJANGO_SETTINGS_MODULE="bench.ref_django.settings",
        )
        reference = [
            group.start_daphne(
                f"plain-view-{i}",
                "bench.ref_django.asgi:application",
                reference_env,
                ready_path="/healthz",
            )
            for i in range(args.processes)
        ]
        common.prepare_database(args)
        seeded = common.seed(
            args,
            {
                "users": args.clients,
                "channels": [
                    {"name": f"bench-post-{tag}-{i}", "members": [i]} for i in range(args.clients)
                ],
            },
        )
        users, channels = seeded["users"], seeded["channels"]
        group.wait_ready()

        def chatsite_request(i: int) -> Request:
            user = i % len(users)
            body = {
                "channel_id": channels[user]["id"],
                "content": f"bench {i} message from {users[user]['username']}",
                "client_id": str(uuid.uuid4()),
            }
            return Request(
                url=chatsite[i % len(chatsite)].http_url("/api/chat/messages"),
                headers={
                    "Authorization": f"Bearer {users[user]['token']}",
                    "Content-Type": "application/json",
                },
                body=json.dumps(body).encode(),
            )

        def reference_request(i: int) -> Request:
            request = chatsite_request(i)
            request.url = reference[i % len(reference)].http_url("/echo")
            return request

        results: dict[str, dict[str, Any]] = {"chatsite": {}, "plain_view": {}}
        # Rounds alternate the two targets, so that both see the same background load.
        for mode in ("closed", "open"):
            rounds: dict[str, list[Round]] = {"plain_view": [], "chatsite": []}
            for _ in range(args.rounds):
                rounds["plain_view"].append(
                    await measure_target("plain view", reference, reference_request, args, mode)
                )
                rounds["chatsite"].append(
                    await measure_target("chatsite", chatsite, chatsite_request, args, mode)
                )
            for target, done in rounds.items():
                results[target][mode] = combine(done)
    mine, theirs = results["chatsite"], results["plain_view"]
    summary["config"] = {
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "open_rate_per_s": args.rate,
        "open_seconds": args.open_seconds,
        "processes_per_target": args.processes,
        "rounds": args.rounds,
    }
    summary["results"] = results
    throughput_ratio = common.ratio(
        mine["closed"]["throughput_per_s"], theirs["closed"]["throughput_per_s"]
    )
    summary["ratios"] = {
        "closed_throughput_vs_plain_view": throughput_ratio,
        "closed_p95_vs_plain_view": common.ratio(
            mine["closed"]["latency"].get("p95_ms"), theirs["closed"]["latency"].get("p95_ms")
        ),
        "open_p95_vs_plain_view": common.ratio(
            mine["open"]["latency"].get("p95_ms"), theirs["open"]["latency"].get("p95_ms")
        ),
    }
    closed_p95 = mine["closed"]["latency"].get("p95_ms")
    open_p95 = mine["open"]["latency"].get("p95_ms")
    summary["targets"] = {
        "closed_p95_ms<=100": closed_p95 is not None and closed_p95 <= TARGET_CLOSED_P95_MS,
        "closed_throughput_ratio>=0.25": (
            throughput_ratio is not None and throughput_ratio >= TARGET_THROUGHPUT_RATIO
        ),
        "open_p95_ms<=20": open_p95 is not None and open_p95 <= TARGET_OPEN_P95_MS,
    }
    summary["errors_total"] = sum(r[m]["errors"] for r in results.values() for m in r)
    return summary


def main(argv: list[str] | None = None) -> int:
    return common.run_main(parse_args, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
