"""How long ``manage.py import_slack`` takes for a large export (docs/performance.md,
"Importing from Slack").

1. Writes an export zip (Python's random, fixed seed) of ``--users`` people and ``--channels``
   public channels holding ``--messages`` messages over a year: mrkdwn with mentions, bold,
   links and channel references; a tenth of the messages are thread replies, a fifth carry
   reactions, one in fifty was edited.
2. Imports it into the bench database with ``manage.py import_slack`` (a process of its own,
   as an operator runs it), then runs it again (the second run adds nothing), timing both
   and the CPU of the command.

Each run's Slack ids, emails and channel names carry the run's id, so runs on one database
never meet.

    BENCH_DATABASE_URL=postgres://chatsite@127.0.0.1:5432/chatsite_bench \\
        .venv/bin/python -m bench.slack_import --messages 100000
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common

SEED = 20261205
WORDS = (  # noqa: SIM905 (a word list reads best as text)
    "the deploy is done please review this branch we should ship today tests pass on main "
    "can someone look at the logs again thanks great idea meeting moved to friday lunch "
    "customer reported a bug in search page fixed now merge after review cache queue worker"
).split()


def write_export(path: Path, *, run: str, users: int, channels: int, messages: int) -> None:
    from tests import slack_export as sx

    rng = random.Random(SEED)
    people = [sx.user(f"U{run}{n:05d}", f"person{n}-{run}", f"p{n}-{run}@example.com")
              for n in range(users)]  # fmt: skip
    ids = [p["id"] for p in people]
    rooms = [sx.channel(f"C{run}{n:04d}", f"room{n}-{run}", rng.sample(ids, min(40, users)))
             for n in range(channels)]  # fmt: skip
    per_channel: dict[str, list[dict[str, Any]]] = {room["name"]: [] for room in rooms}
    roots: dict[str, list[str]] = {room["name"]: [] for room in rooms}
    year = 365 * 86400
    stamps = sorted(rng.sample(range(year * 10), messages))
    for number, tenth in enumerate(stamps):
        room = rng.choice(rooms)["name"]
        at = sx.ts(tenth // 10, (tenth % 10) * 100 + number % 100)
        words = rng.choices(WORDS, k=rng.randint(3, 25))
        if rng.random() < 0.1:
            words.insert(1, f"<@{rng.choice(ids)}>")
        if rng.random() < 0.1:
            words.append(f"*{rng.choice(WORDS)}*")
        if rng.random() < 0.05:
            words.append("<https://example.com/issues/1234|the issue>")
        item = sx.message(rng.choice(ids), " ".join(words), at)
        if roots[room] and rng.random() < 0.1:
            item["thread_ts"] = rng.choice(roots[room][-50:])
        else:
            roots[room].append(at)
        if rng.random() < 0.2:
            item["reactions"] = [{"name": rng.choice(["+1", "tada", "eyes", "heart"]),
                                  "users": rng.sample(ids, 2), "count": 2}]  # fmt: skip
        if rng.random() < 0.02:
            item["edited"] = {"user": item["user"], "ts": sx.ts(tenth // 10 + 60)}
        per_channel[room].append(item)
    sx.write_export(path, users=people, channels=rooms, messages=per_channel)


def run_import(args: argparse.Namespace, export: Path) -> dict[str, Any]:
    env = common.server_env(args, prefix="chatsite-bench-slack")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [common.PYTHON, "manage.py", "import_slack", str(export)],
        cwd=common.REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    common.log(done.stdout.strip())
    return {"wall_seconds": round(wall, 1), "command_cpu_seconds": round(cpu, 1),
            "summary": done.stdout.strip().splitlines()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--channels", type=int, default=20)
    args = parser.parse_args(argv)
    summary: dict[str, Any] = {
        "benchmark": "slack_import",
        "context": common.run_context("bench.slack_import"),
    }
    common.prepare_database(args)
    run = common.run_id()[:5]
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as folder:
        export = Path(folder) / "export.zip"
        started = time.monotonic()
        write_export(export, run=run, users=args.users, channels=args.channels,
                     messages=args.messages)  # fmt: skip
        common.log(f"export written in {time.monotonic() - started:.1f} s, "
                   f"{export.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        summary["messages"] = args.messages
        summary["first_run"] = run_import(args, export)
        summary["second_run"] = run_import(args, export)
    first = summary["first_run"]["wall_seconds"]
    summary["messages_per_second"] = round(args.messages / first) if first else None
    common.emit(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
