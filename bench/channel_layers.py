"""RedisChannelLayer against RedisPubSubChannelLayer: group fan-out through the layer alone.

Two receiver processes (as two Daphne processes would) each hold half of N channels in one
group and read them the way consumers do, one ``receive()`` per channel. The sender
``group_send``s M messages at a fixed rate, each stamped with its send time. Reports, per layer:
deliveries, losses, latency percentiles and the receivers' CPU time per delivery. No Daphne and
no database: the difference between the two runs is the layer.

    .venv/bin/python -m bench.channel_layers --channels 1000 --messages 200 --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from typing import Any

BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def make_layer(backend: str, redis_url: str, prefix: str) -> Any:
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    hosts = [{"address": redis_url, "max_connections": 10_000, "socket_timeout": 15}]
    if backend == "core":
        return RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=10_000, group_expiry=90)
    return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)


async def receiver(args: argparse.Namespace) -> None:
    layer = make_layer(args.backend, args.redis_url, args.prefix)
    channels = [await layer.new_channel() for _ in range(args.channels)]
    for channel in channels:
        await layer.group_add(args.group, channel)
    latencies: list[float] = []
    done = asyncio.Event()
    expected = args.channels * args.messages

    async def read(channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            latencies.append(time.time() - message["sent"])
            if len(latencies) >= expected:
                done.set()

    tasks = [asyncio.create_task(read(channel)) for channel in channels]
    print("ready", flush=True)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - cpu_before.ru_utime) + (usage.ru_stime - cpu_before.ru_stime)
    for task in tasks:
        task.cancel()
    print(json.dumps({"latencies": latencies, "cpu_seconds": cpu}), flush=True)
    os._exit(0)  # the layers' background readers need no orderly goodbye here


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    prefix = f"bench-layers-{uuid.uuid4().hex[:8]}"
    group = "bench.fanout"
    per_process = args.channels // args.processes
    command = [
        sys.executable,
        "-m",
        "bench.channel_layers",
        "--receiver",
        f"--backend={backend}",
        f"--redis-url={args.redis_url}",
        f"--prefix={prefix}",
        f"--group={group}",
        f"--channels={per_process}",
        f"--messages={args.messages}",
        f"--timeout={args.timeout}",
    ]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.processes)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    layer = make_layer(backend, args.redis_url, prefix)
    started = time.perf_counter()
    for number in range(args.messages):
        await layer.group_send(group, {"type": "bench.event", "n": number, "sent": time.time()})
        next_at = started + (number + 1) / args.rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    latencies: list[float] = []
    cpu = 0.0
    for process in processes:
        output, _ = process.communicate(timeout=args.timeout + 30)
        result = json.loads(output.strip().splitlines()[-1])
        latencies += result["latencies"]
        cpu += result["cpu_seconds"]
    elapsed = time.perf_counter() - started
    expected = per_process * args.processes * args.messages
    return {
        "backend": backend,
        "channels": per_process * args.processes,
        "messages": args.messages,
        "rate_per_s": args.rate,
        "deliveries": len(latencies),
        "lost": expected - len(latencies),
        "deliveries_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "receiver_cpu_us_per_delivery": round(cpu / max(1, len(latencies)) * 1e6, 1),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="group_sends per second")
    parser.add_argument("--backends", default="core,pubsub")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the backends this often")
    parser.add_argument("--timeout", type=float, default=60.0)
    # Receiver side (started by the script itself).
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="core", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="bench-layers", help=argparse.SUPPRESS)
    parser.add_argument("--group", default="bench.fanout", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for _ in range(args.rounds):
        for backend in args.backends.split(","):
            result = await run_backend(args, backend)
            print(json.dumps(result), file=sys.stderr, flush=True)
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.receiver:
        asyncio.run(receiver(args))
        return 0
    print(json.dumps(asyncio.run(main_async(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
