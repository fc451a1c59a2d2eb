"""A reconnect storm: every client drops at once and comes back at once while messages flow.

``--clients`` users (default 5,000) sit in channels of ``--users-per-channel`` (50: 100
channels), each connected to one of ``--chatsite-processes`` Daphne processes (2) and
subscribed to its channel. One more user per channel posts into it over its own socket,
``--rate`` messages a second in all, for the whole run. Then:

1. every client closes its socket at the same moment (a network drop on the client side, or
   a proxy restart: the servers stay up and see all the closes together);
2. ``--pause`` seconds later every client reconnects at the same moment and resumes with
   ``subscribe`` and ``since_seq`` (the last seq it saw), as the web client does;
3. the posting goes on until every client is ready again plus ``--tail`` seconds, then a
   final drain waits until each client has every seq of its channel.

Reported: the time from the reconnect to the last client ready (welcome received, replay done,
``subscribed`` received), its p50 / p99; handshakes that failed or timed out; losses (seqs of a
client's channel, from its first subscribe to the last message, that never reached it live
or by replay); presence frames and the presence changes in them, per reconnect; server CPU
per reconnect. The clients are spread over ``--workers`` load-generator processes (a single
asyncio process cannot open 5,000 sockets quickly), which share the machine's clock.

    .venv/bin/python -m bench.ws_storm --clients 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench import common
from bench.wsclient import Endpoint, open_connection, open_ready

PRESENCE_QUERY = "presence=batch"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WebSocket reconnect storm benchmark")
    common.add_common_arguments(parser)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--users-per-channel", type=int, default=50)
    parser.add_argument("--chatsite-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="load-generator processes")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second, in all")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between drop and back")
    parser.add_argument("--tail", type=float, default=3.0)
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--initial-concurrency", type=int, default=100, help="per worker")
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------
# A load-generator worker: its share of the clients, driven by commands from the main process
# ------------------------------------------------------------------------------------------
@dataclass
class Client:
    url: str
    token: str
    channel_id: str
    connection: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    first_seq: int | None = None  # the channel's last_seq at the first subscribe
    last_seq: int = 0  # the highest seq seen
    seqs: set[int] = field(default_factory=set)
    presence_frames: int = 0
    presence_changes: int = 0
    errors: list[str] = field(default_factory=list)
    failed_attempts: int = 0
    close_code: int | None = None  # how the socket ended while the benchmark read it
    resumed_from: int | None = None  # the since_seq of the last resume


def reconnect_delay(failures: int) -> float:
    """The web client's wait before another attempt (static/js/connection.js): half the
    ceiling plus jitter, the ceiling doubling from 0.5 s up to 30 s."""
    ceiling = min(30.0, 0.5 * 2**failures)
    return ceiling / 2 + random.random() * ceiling / 2


def _endpoint(client: Client) -> Endpoint:
    return Endpoint("chatsite", client.url, client.channel_id, query=PRESENCE_QUERY)


def _note(client: Client, frame: str) -> dict[str, Any] | None:
    """Record one frame; return it decoded when it is neither a message nor presence."""
    event = json.loads(frame)
    kind = event.get("type")
    if kind in ("message.created", "message.updated", "message.deleted"):
        seq = int(event["seq"])
        client.seqs.add(seq)
        client.last_seq = max(client.last_seq, seq)
        return None
    if kind == "presence":
        client.presence_frames += 1
        client.presence_changes += len(event.get("users") or [event])
        return None
    if kind == "error":
        client.errors.append(frame[:300])
    return dict(event)


async def _read(client: Client) -> None:
    assert client.connection is not None
    try:
        async for frame in client.connection:
            if isinstance(frame, str):
                _note(client, frame)
    except ConnectionClosed as closed:
        client.close_code = closed.rcvd.code if closed.rcvd else 1006
    else:
        client.close_code = client.connection.close_code


async def _resume(client: Client, deadline: float) -> tuple[float, int]:
    """Connect, wait for welcome, subscribe (with since_seq after the first time) and wait
    for ``subscribed``, recording every frame on the way; (when ready, failed attempts).
    Gives up (TimeoutError) at ``deadline`` (time.monotonic)."""
    failures = 0
    while True:
        try:
            left = deadline - time.monotonic()
            connection = await open_connection(
                _endpoint(client), client.token, timeout=max(1.0, left)
            )
            break
        except (OSError, TimeoutError, InvalidHandshake):
            failures += 1
            client.failed_attempts += 1
            if time.monotonic() >= deadline - 1:
                raise
            await asyncio.sleep(reconnect_delay(failures))
    client.connection = connection
    subscribe: dict[str, Any] = {"type": "subscribe", "channel_id": client.channel_id}
    if client.first_seq is not None:
        subscribe["since_seq"] = client.resumed_from = client.last_seq
    welcomed = False
    while True:
        frame = await asyncio.wait_for(connection.recv(), max(0.1, deadline - time.monotonic()))
        event = _note(client, str(frame))
        if event is None:
            continue
        if event.get("type") == "welcome" and not welcomed:
            welcomed = True
            await connection.send(json.dumps(subscribe))
        elif event.get("type") == "subscribed" and event.get("channel_id") == client.channel_id:
            if client.first_seq is None:
                client.first_seq = int(event["last_seq"])
                client.last_seq = max(client.last_seq, client.first_seq)
            ready = time.time()
            client.reader = asyncio.create_task(_read(client))
            return ready, failures


async def _worker_main(
    pipe: Connection, specs: list[tuple[str, str, str]], concurrency: int, timeout: float
) -> None:
    clients = [Client(url, token, channel_id) for url, token, channel_id in specs]
    while True:
        command, argument = pipe.recv()
        if command == "connect":
            results = await _first_connects(clients, concurrency, timeout * 5)
            pipe.send(_outcome(results, None))
        elif command == "drop":
            at = float(argument)
            await asyncio.sleep(max(0.0, at - time.time()))
            await asyncio.gather(
                *(c.connection.close() for c in clients if c.connection), return_exceptions=True
            )
            await asyncio.gather(*(c.reader for c in clients if c.reader), return_exceptions=True)
            pipe.send({"closed": len(clients)})
        elif command == "reconnect":
            at = float(argument)
            for client in clients:
                client.presence_frames = client.presence_changes = client.failed_attempts = 0
            await asyncio.sleep(max(0.0, at - time.time()))
            deadline = time.monotonic() + timeout
            results = await asyncio.gather(
                *(_resume(c, deadline) for c in clients), return_exceptions=True
            )
            outcome = _outcome(results, at)
            outcome["failed_attempts"] = sum(c.failed_attempts for c in clients)
            outcome["presence_frames"] = sum(c.presence_frames for c in clients)
            outcome["presence_changes"] = sum(c.presence_changes for c in clients)
            pipe.send(outcome)
        elif command == "drain":
            final: dict[str, int] = argument["final"]
            deadline = time.monotonic() + float(argument["timeout"])
            while time.monotonic() < deadline and any(
                c.last_seq < final.get(c.channel_id, 0) for c in clients
            ):
                await asyncio.sleep(0.2)
            losses = 0
            lossy: list[Client] = []
            for c in clients:
                start = c.first_seq if c.first_seq is not None else final.get(c.channel_id, 0)
                wanted = set(range(start + 1, final.get(c.channel_id, 0) + 1))
                missing = wanted - c.seqs
                losses += len(missing)
                if missing:
                    lossy.append(c)
            # Where the losses are: sockets that ended while read (and how), and the seqs
            # missing relative to the resume point (before it: lost before the drop).
            closed = [c for c in clients if c.reader is not None and c.reader.done()]
            closed_ids = {id(c) for c in closed}
            pipe.send(
                {
                    "losses": losses,
                    "clients_with_losses": len(lossy),
                    "lossy_closed": sum(1 for c in lossy if id(c) in closed_ids),
                    "closed_while_read": len(closed),
                    "close_codes": sorted({c.close_code or 0 for c in closed})[:10],
                    "lost_before_resume": sum(
                        len(set(range((c.first_seq or 0) + 1, (c.resumed_from or 0) + 1)) - c.seqs)
                        for c in lossy
                    ),
                    "expected": sum(
                        final.get(c.channel_id, 0) - (c.first_seq or 0) for c in clients
                    ),
                    "errors": [e for c in clients for e in c.errors][:5],
                    "error_count": sum(len(c.errors) for c in clients),
                }
            )
        elif command == "stop":
            await asyncio.gather(
                *(c.connection.close() for c in clients if c.connection), return_exceptions=True
            )
            pipe.send({"stopped": True})
            return


async def _first_connects(clients: list[Client], concurrency: int, timeout: float) -> list[Any]:
    semaphore = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + timeout

    async def first(client: Client) -> tuple[float, int]:
        async with semaphore:
            return await _resume(client, deadline)

    return list(await asyncio.gather(*(first(c) for c in clients), return_exceptions=True))


def _outcome(results: list[Any], at: float | None) -> dict[str, Any]:
    ready = [r for r in results if isinstance(r, tuple)]
    failed = [r for r in results if not isinstance(r, tuple)]
    return {
        "ready_at": [r[0] for r in ready],
        "failed_attempts": sum(r[1] for r in ready),
        "not_ready": len(failed),
        "failures": [f"{type(f).__name__}: {f}"[:200] for f in failed[:5]],
        "at": at,
    }


def _worker(
    pipe: Connection, specs: list[tuple[str, str, str]], concurrency: int, timeout: float
) -> None:
    common.raise_open_files_limit(len(specs) * 2 + 1024)
    asyncio.run(_worker_main(pipe, specs, concurrency, timeout))


# ------------------------------------------------------------------------------------------
# The main process: servers, senders, and the workers
# ------------------------------------------------------------------------------------------
class Senders:
    """One posting user per channel, on its own socket; ``rate`` messages a second in all."""

    def __init__(self, endpoints: list[Endpoint], tokens: list[str]) -> None:
        self.endpoints = endpoints
        self.tokens = tokens
        self.connections: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.acked: dict[str, int] = {}  # channel id -> highest seq acknowledged
        self.sent = 0
        self.errors = 0
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        for endpoint, token in zip(self.endpoints, self.tokens, strict=True):
            opened = await open_ready(endpoint, token)
            self.connections.append(opened.connection)
            self.readers.append(asyncio.create_task(self._read(opened.connection)))

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for frame in connection:
                event = json.loads(frame)
                if event.get("type") == "error":
                    self.errors += 1
                if event.get("type") == "ack":
                    message = event["message"]
                    channel_id = str(message["channel_id"])
                    self.acked[channel_id] = max(self.acked.get(channel_id, 0), message["seq"])
        except ConnectionClosed:
            pass

    def start(self, rate: float) -> None:
        self.task = asyncio.create_task(self._post(rate))

    async def _post(self, rate: float) -> None:
        interval = 1.0 / rate
        started = time.monotonic()
        while True:
            i = self.sent
            await asyncio.sleep(max(0.0, started + i * interval - time.monotonic()))
            k = i % len(self.connections)
            frame = json.dumps(
                {
                    "type": "message.send",
                    "channel_id": self.endpoints[k].channel_id,
                    "content": f"storm {i}",
                    "client_id": str(uuid.uuid4()),
                }
            )
            try:
                await self.connections[k].send(frame)
            except ConnectionClosed:
                return
            self.sent += 1

    async def stop(self) -> dict[str, int]:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await asyncio.sleep(2.0)  # the last acks
        acked = dict(self.acked)
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)
        return acked


def _ask(pipes: list[Connection], command: str, argument: Any = None) -> None:
    for pipe in pipes:
        pipe.send((command, argument))


async def _answers(pipes: list[Connection], timeout: float) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()

    def wait_all() -> list[dict[str, Any]]:
        out = []
        for pipe in pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("a load-generator worker did not answer")
            out.append(pipe.recv())
        return out

    return await loop.run_in_executor(None, wait_all)


def _seconds(values: list[float]) -> dict[str, Any]:
    summary = common.latency_summary(values)
    return {key: value for key, value in summary.items()}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"benchmark": "ws_storm", **common.run_context("bench.ws_storm")}
    summary["open_files_limit"] = common.raise_open_files_limit(args.clients * 3 + 4096)
    tag = common.run_id()
    size = max(1, args.users_per_channel)
    channels = (args.clients + size - 1) // size
    with common.server_group(args.log_dir, f"ws_storm-{tag}") as group:
        servers = common.start_chatsite(
            group, args, prefix=f"chatsite-bench-{tag}", processes=args.chatsite_processes
        )
        common.prepare_database(args)
        # Users 0..clients-1 are the clients; clients + c posts into channel c.
        seeded = common.seed(
            args,
            {
                "users": args.clients + channels,
                "channels": [
                    {
                        "name": f"bench-storm-{tag}-{c}",
                        "members": [
                            *range(c * size, min(args.clients, (c + 1) * size)),
                            args.clients + c,
                        ],
                    }
                    for c in range(channels)
                ],
            },
        )
        group.wait_ready()
        urls = [s.ws_url() for s in servers]
        channel_ids = [c["id"] for c in seeded["channels"]]
        tokens = [u["token"] for u in seeded["users"]]
        specs = [
            (urls[i % len(urls)], tokens[i], channel_ids[i // size]) for i in range(args.clients)
        ]
        workers = max(1, min(args.workers, args.clients))
        pipes: list[Connection] = []
        processes = []
        context = multiprocessing.get_context("spawn")
        for w in range(workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(theirs, specs[w::workers], args.initial_concurrency, args.ready_timeout),
            )
            process.start()
            pipes.append(mine)
            processes.append(process)
        try:
            common.log(f"ws_storm: connecting {args.clients} clients")
            started = time.time()
            _ask(pipes, "connect")
            first = await _answers(pipes, args.ready_timeout * 5 + 60)
            summary["initial_connect_s"] = round(time.time() - started, 2)
            summary["initial_not_ready"] = sum(a["not_ready"] for a in first)
            senders = Senders(
                [
                    Endpoint("chatsite", urls[c % len(urls)], channel_ids[c], query=PRESENCE_QUERY)
                    for c in range(channels)
                ],
                tokens[args.clients :],
            )
            await senders.open()
            senders.start(args.rate)
            await asyncio.sleep(2.0)

            meter = common.CpuMeter(servers, args.redis_url)
            meter.start()
            common.log("ws_storm: dropping every client")
            _ask(pipes, "drop", time.time() + 0.5)
            await _answers(pipes, 120)
            at = time.time() + args.pause
            common.log("ws_storm: every client reconnects")
            _ask(pipes, "reconnect", at)
            back = await _answers(pipes, args.ready_timeout + 60)
            cpu = meter.stop()
            await asyncio.sleep(args.tail)
            final = await senders.stop()
            _ask(pipes, "drain", {"final": final, "timeout": 30})
            drained = await _answers(pipes, 60)
            _ask(pipes, "stop")
            await _answers(pipes, 60)
            alive = all(s.process.poll() is None for s in servers)
        finally:
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
    ready = sorted(t - at for a in back for t in a["ready_at"])
    reconnects = len(ready)
    summary["config"] = {k: v for k, v in vars(args).items() if k != "log_dir"}
    summary["result"] = {
        "clients": args.clients,
        "channels": channels,
        "processes": args.chatsite_processes,
        "reconnected": reconnects,
        "not_ready": sum(a["not_ready"] for a in back),
        "failures": [f for a in back for f in a["failures"]][:5],
        "all_ready_s": round(ready[-1], 3) if ready else None,
        "ready": _seconds(ready),
        "failed_handshake_attempts": sum(a["failed_attempts"] for a in back),
        "messages_sent": senders.sent,
        "messages_stored": sum(final.values()),
        "sender_errors": senders.errors,
        "losses": sum(d["losses"] for d in drained),
        "deliveries_expected": sum(d["expected"] for d in drained),
        "clients_with_losses": sum(d["clients_with_losses"] for d in drained),
        "lossy_clients_closed_while_read": sum(d["lossy_closed"] for d in drained),
        "closed_while_read": sum(d["closed_while_read"] for d in drained),
        "close_codes": sorted({code for d in drained for code in d["close_codes"]}),
        "lost_before_resume": sum(d["lost_before_resume"] for d in drained),
        "error_events": sum(d["error_count"] for d in drained),
        "error_samples": [e for d in drained for e in d["errors"]][:5],
        "presence_frames": sum(a["presence_frames"] for a in back),
        "presence_changes": sum(a["presence_changes"] for a in back),
        "presence_frames_per_reconnect": (
            round(sum(a["presence_frames"] for a in back) / reconnects, 2) if reconnects else None
        ),
        "cpu": cpu,
        "server_cpu_ms_per_reconnect": (
            round(cpu["server_cpu_s"] / reconnects * 1000, 2) if reconnects else None
        ),
        "servers_alive": alive,
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    return common.run_main(parse_args, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
