"""Each benchmark of bench/ at smoke size: it runs to the end, with no error and no loss.

Nothing here is timed: the machine running the suite is shared. The benchmarks start their own
Daphne processes against a database of their own (the test database's name + ``_benchsmoke``,
created and migrated by the benchmark) and the suite's Redis, under a fresh channel-layer
prefix per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.live


def bench_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_benchsmoke"))


def run_bench(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.<module>`` and return its JSON summary."""
    command = [
        sys.executable,
        "-m",
        f"bench.{module}",
        "--database-url",
        bench_database_url(),
        "--redis-url",
        os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        *args,
    ]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{module} failed:\n{done.stderr[-5000:]}"
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["benchmark"] == module
    return summary


def test_http_post_smoke_completes_without_errors() -> None:
    summary = run_bench(
        "http_post",
        *("--clients", "3", "--duration", "1.5", "--warmup", "0.3"),
        *("--rate", "20", "--open-seconds", "1", "--processes", "1"),
    )
    assert summary["errors_total"] == 0, summary["results"]
    for target in ("chatsite", "plain_view"):
        for mode in ("closed", "open"):
            assert summary["results"][target][mode]["requests"] > 0, (target, mode)
    assert summary["results"]["chatsite"]["open"]["requests"] == 20
    assert summary["ratios"]["closed_throughput_vs_plain_view"] is not None


def test_ws_fanout_smoke_delivers_everything_on_every_target() -> None:
    summary = run_bench(
        "ws_fanout",
        *("--subscribers", "8", "--steady-seconds", "2", "--ramp", "4"),
        *("--step-seconds", "1", "--drain-seconds", "20", "--p99-limit-ms", "60000"),
    )
    assert summary["losses_total"] == 0, summary["results"]
    for target in ("chatsite", "tutorial", "websockets"):
        result = summary["results"][target]["8"]
        assert result["steady"]["deliveries"] == 2 * 8, target
        assert result["ramp"][0]["deliveries"] == 4 * 8, target
        assert result["seq_gaps"] == 0, target
        assert result["errors"] == [], target
        assert result["servers_alive_after_mass_disconnect"], target
    assert summary["ratios"]["8"]["steady_p99_ms_vs_websockets"] is not None


def test_ws_idle_smoke_keeps_every_connection() -> None:
    summary = run_bench("ws_idle", "--steps", "0,6,12", "--idle-seconds", "1")
    assert summary["dropped_total"] == 0, summary["results"]
    for target in ("chatsite", "tutorial", "websockets"):
        result = summary["results"][target]
        assert [step["connections"] for step in result["steps"]] == [0, 6, 12]
        assert result["handshake"]["count"] == 12, target
        assert result["servers_alive_after_mass_disconnect"], target
    assert "rss_per_connection_vs_websockets" in summary["ratios"]


def test_ws_churn_smoke_connects_and_closes_without_failures() -> None:
    summary = run_bench(
        "ws_churn", "--rate", "10", "--steady", "3", "--seconds", "3", "--users", "12"
    )
    assert summary["failed_total"] == 0 and summary["dropped_total"] == 0, summary["results"]
    for target in ("chatsite", "tutorial", "websockets"):
        result = summary["results"][target]
        assert result["connects"] == result["scheduled"] == 30, (target, result)
        assert result["servers_alive"], target
        assert result["rss_slope_mb_per_min_second_half"] is not None, target


def test_search_smoke_generates_searches_and_posts() -> None:
    summary = run_bench(
        "search",
        *("--messages", "3000", "--channels", "50", "--users", "20", "--rounds", "1"),
        *("--posts", "20", "--post-blocks", "2", "--regenerate"),
    )
    assert summary["corpus"]["messages"] == 3000
    for persona in ("member_of_a_tenth", "moderator_reads_all"):
        queries = summary["queries"][persona]["per_query"]
        assert set(queries) == {
            "common_word",
            "rare_word",
            "phrase",
            "prefix",
            "partial_word",
            "url_fragment",
            "identifier",
            "from_and_word",
            "no_hit",
        }
        assert queries["common_word"]["first_page_hits"] > 0
        assert queries["no_hit"]["first_page_hits"] == 0
    assert [block["search_indexes"] for block in summary["posting"]["blocks"]] == [True, False]
    assert summary["posting"]["ratio_with_vs_without"] is not None


def test_slack_import_smoke_imports_then_adds_nothing() -> None:
    summary = run_bench("slack_import", "--messages", "300", "--users", "10", "--channels", "3")
    first, second = summary["first_run"]["summary"], summary["second_run"]["summary"]
    assert any(line.startswith("  messages: 300 new") for line in first), first
    assert any("messages: 0 new" in line and "300 already" in line for line in second), second


def test_ws_storm_smoke_brings_every_client_back_without_loss() -> None:
    summary = run_bench(
        "ws_storm",
        *("--clients", "200", "--users-per-channel", "50", "--workers", "2"),
        *("--rate", "10", "--pause", "1", "--tail", "1"),
    )
    result = summary["result"]
    assert result["reconnected"] == 200, result
    assert result["not_ready"] == 0, result["failures"]
    assert result["losses"] == 0, result
    assert result["error_events"] == 0, result["error_samples"]
    assert result["messages_sent"] > 0
    # One batched snapshot per reconnect, plus at most a few batches of changes: linear in
    # the connects, not one frame per co-member (49 each here).
    assert 200 <= result["presence_frames"] <= 200 * 10, result
    assert result["servers_alive"], result
