"""Deferred savepoints or Django's own: round trips and time per post, in one process.

Runs ``chat.services.message_create`` inside a request-like ``transaction.atomic()`` (what
``ATOMIC_REQUESTS`` wraps a view in) against the real PostgreSQL, once through chatsite.db as
it is and once through the backend of an earlier commit (``--before-rev``, the one that
deferred SAVEPOINT and RELEASE to ride with the next query), in alternating order, several
rounds, so both see the same moments of a shared machine. Nothing else differs: the same
process, services, connection settings and data. Prints one JSON summary::

    python -m bench.savepoints --before-rev b9ee0e8 --posts 200 --rounds 20

The database (``--database-url``, default the bench database) is created and migrated if
missing, as by the other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, add_common_arguments, log, prepare_database

BEFORE_MODULE = "chatsite_db_before"


def _install_before_backend(rev: str) -> None:
    """The earlier backend, importable as BEFORE_MODULE (from ``git show``, not a copy)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:chatsite/db/base.py"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    package = Path(tempfile.mkdtemp(prefix="chatsite-bench-")) / BEFORE_MODULE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(source)
    sys.path.insert(0, str(package.parent))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--before-rev", required=True, help="a commit with the earlier backend")
    parser.add_argument("--posts", type=int, default=200, help="posts per variant and round")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    prepare_database(args)
    _install_before_backend(args.before_rev)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()

    import psycopg
    from django.db import connections, transaction
    from django.db.utils import load_backend

    from chat import events, services
    from chat.models import Channel, Membership
    from chatsite import rls

    settings_dict = dict(connections["default"].settings_dict)
    # One connection per variant, kept open: the pool is the same for both, so leave it out.
    settings_dict["OPTIONS"] = {
        key: value for key, value in settings_dict["OPTIONS"].items() if key != "pool"
    }
    settings_dict["CONN_MAX_AGE"] = None
    variants = {
        "deferred (before)": load_backend(BEFORE_MODULE).DatabaseWrapper(settings_dict, "default"),
        "django (after)": load_backend("chatsite.db").DatabaseWrapper(settings_dict, "default"),
    }
    # Events go out on commit; this measures the database side only.
    events.notify_message = lambda *args, **kwargs: None

    from accounts.models import User

    with rls.acting_as_service():
        suffix = uuid.uuid4().hex[:8]
        user = User.objects.create_user(
            username=f"sp-{suffix}", email=f"sp-{suffix}@example.com", password=None
        )
        channel = Channel.objects.create(name=f"sp-{suffix}", created_by=user)
        Membership.objects.create(channel=channel, user=user, role=Membership.Role.OWNER)
    connections["default"].close()

    def post() -> None:
        with transaction.atomic():
            services.message_create(
                user=user, channel_id=channel.pk, content="measured", client_id=uuid.uuid4()
            )

    def round_trips() -> int:
        sent: list[str] = []
        original = psycopg.Cursor.execute

        def counting(self: Any, query: Any, *a: Any, **kw: Any) -> Any:
            sent.append(str(query))
            return original(self, query, *a, **kw)

        psycopg.Cursor.execute = counting  # type: ignore[method-assign]
        try:
            post()
        finally:
            psycopg.Cursor.execute = original  # type: ignore[method-assign]
        return len(sent)

    results: dict[str, Any] = {name: {"rounds": []} for name in variants}
    every_post: dict[str, list[float]] = {name: [] for name in variants}
    with rls.acting_as_user(user):
        for name, wrapper in variants.items():
            connections["default"] = wrapper
            for _ in range(100):  # warm up: connection, caches, plans
                post()
            results[name]["round_trips_per_post"] = round_trips()
        # Short rounds, alternating, so that both variants see the same moments of a shared
        # machine; each round's pair is compared on its own as well.
        for round_index in range(args.rounds):
            order = list(variants) if round_index % 2 == 0 else list(reversed(variants))
            for name in order:
                connections["default"] = variants[name]
                times = []
                cpu_start = time.process_time()
                for _ in range(args.posts):
                    start = time.perf_counter()
                    post()
                    times.append((time.perf_counter() - start) * 1000)
                cpu_ms = (time.process_time() - cpu_start) * 1000 / args.posts
                every_post[name].extend(times)
                results[name]["rounds"].append(
                    {
                        "median_ms": round(statistics.median(times), 3),
                        "p95_ms": round(_percentile(times, 0.95), 3),
                        "cpu_ms": round(cpu_ms, 3),
                    }
                )
            log(
                f"round {round_index + 1}: "
                + ", ".join(f"{name} {results[name]['rounds'][-1]}" for name in variants)
            )
    before, after = list(variants)
    pairs = list(zip(results[before]["rounds"], results[after]["rounds"], strict=True))
    quiet = sorted(pairs, key=lambda pair: pair[0]["median_ms"] + pair[1]["median_ms"])
    quiet = quiet[: max(1, len(quiet) // 4)]
    for name, wrapper in variants.items():
        wrapper.close()
        index = 0 if name == before else 1
        rounds = results[name]["rounds"]
        results[name]["posts"] = len(every_post[name])
        results[name]["median_ms"] = round(statistics.median(every_post[name]), 3)
        results[name]["p95_ms"] = round(_percentile(every_post[name], 0.95), 3)
        for key in ("median_ms", "p95_ms", "cpu_ms"):
            values = [item[key] for item in rounds]
            results[name][f"round_{key}"] = {
                "min": min(values),
                "median": statistics.median(values),
                "max": max(values),
            }
            results[name][f"quiet_{key}"] = statistics.median(pair[index][key] for pair in quiet)
        del results[name]["rounds"]
    for key in ("median_ms", "p95_ms", "cpu_ms"):
        differences = sorted(round(b[key] - a[key], 3) for a, b in pairs)
        results[f"after_minus_before_{key}"] = {
            "min": differences[0],
            "median": statistics.median(differences),
            "max": differences[-1],
        }
    results["load_average"] = list(os.getloadavg())
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
