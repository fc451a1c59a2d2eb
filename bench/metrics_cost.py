"""What the metrics of chatsite/metrics.py cost per recorded event, in multiprocess mode.

Each call that the code makes (one per request, per delivered frame, per socket open and close,
per publish, per refusal) is timed in a loop against a fresh PROMETHEUS_MULTIPROC_DIR, as
several Daphne processes run it, and once more with prometheus-client's in-memory values (no
directory). A scrape of the directory after N processes' worth of files is timed too. CPU
time, best of --repeats, so load from elsewhere on the machine counts as little as it can.
Prints one JSON summary; docs/performance.md ("Metrics: what they cost") keeps the result.

    .venv/bin/python -m bench.metrics_cost
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PROBE = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
import django
django.setup()
from chatsite import metrics

calls, repeats = int(sys.argv[1]), int(sys.argv[2])
cases = {
    "request histogram observe": lambda: metrics.observe_request(
        "POST", "api/chat/messages", 201, 0.012
    ),
    "delivery counter inc": metrics.DELIVERIES.inc,
    "open sockets gauge inc+dec": lambda: (metrics.SOCKETS_OPEN.inc(), metrics.SOCKETS_OPEN.dec()),
    "publish histogram observe": lambda: metrics.LAYER_PUBLISH.observe(0.0007),
    "refusal counter inc": lambda: metrics.RATE_LIMIT_REFUSALS.labels("message").inc(),
}
result = {}
for name, call in cases.items():
    best = None
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(calls):
            call()
        elapsed = (time.process_time() - started) / calls
        best = elapsed if best is None else min(best, elapsed)
    result[name] = round(best * 1e6, 3)
started = time.process_time()
for _ in range(20):
    page = metrics.exposition()
result["scrape (ms)"] = round((time.process_time() - started) / 20 * 1000, 2)
result["scrape bytes"] = len(page)
print(json.dumps(result))
"""


def run(env: dict[str, str], calls: int, repeats: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(calls), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--processes", type=int, default=3, help="earlier writers in the dir")
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    base.setdefault("DJANGO_SECRET_KEY", "bench-" + "k" * 60)
    summary: dict[str, object] = {
        "benchmark": "metrics_cost",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_at_start": os.getloadavg(),
        "config": vars(args),
        "unit": "µs of CPU per call (best of repeats)",
    }
    with tempfile.TemporaryDirectory(prefix="metrics-cost-") as directory:
        # Earlier processes leave their files, as the other Daphne processes of a host do.
        for _ in range(args.processes - 1):
            run({**base, "PROMETHEUS_MULTIPROC_DIR": directory}, 100, 1)
        summary["multiprocess"] = run(
            {**base, "PROMETHEUS_MULTIPROC_DIR": directory}, args.calls, args.repeats
        )
    summary["in_memory"] = run(base, args.calls, args.repeats)
    summary["load_average_at_end"] = os.getloadavg()
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
