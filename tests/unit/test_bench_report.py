"""bench.report judges each summary by the current targets (docs/performance.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import report

ROUND3 = Path(__file__).resolve().parents[2] / "docs/performance-data/2026-12-05-round3"


def row(markdown: str, label: str) -> list[str]:
    """The cells of the first table row whose first cell starts with label."""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells and cells[0].startswith(label):
            return cells
    raise AssertionError(f"no row {label!r} in:\n{markdown}")


def test_fanout_verdicts_follow_the_round_3_targets() -> None:
    summary = json.loads((ROUND3 / "ws_fanout-quiet.json").read_text())
    text = report.ws_fanout(summary)
    # 132.2 ms against the bare server's 45.9 ms: 2.88x, over the 2x target.
    assert row(text, "steady 1/s: delivery p99")[-1] == "**missed**"
    assert row(text, "saturation: deliveries/s")[-1] == "met"
    assert row(text, "saturation: server CPU per delivery")[-1] == "met"
    assert row(text, "losses")[-1] == "met"


def context(**extra: Any) -> dict[str, Any]:
    return {
        "started_at": "2026-12-05T00:00:00Z",
        "commit": "abc1234",
        "cpus": 2,
        "load_average_at_start": [0.5, 0.5, 0.5],
        "load_average_at_end": [1.0, 1.0, 1.0],
        "command": "bench",
        **extra,
    }


def storm(all_ready_s: float, losses: int = 0) -> dict[str, Any]:
    return context(
        result={
            "clients": 5000,
            "processes": 2,
            "reconnected": 5000,
            "not_ready": 0,
            "all_ready_s": all_ready_s,
            "ready": {"p50_ms": 4000.0, "p99_ms": 9000.0},
            "failed_handshake_attempts": 0,
            "losses": losses,
            "deliveries_expected": 100000,
            "messages_sent": 400,
            "error_events": 0,
            "presence_frames_per_reconnect": 2.5,
            "presence_changes": 250000,
            "server_cpu_ms_per_reconnect": 6.0,
            "servers_alive": True,
        }
    )


def test_storm_is_met_only_within_15_seconds_and_without_loss() -> None:
    assert row(report.ws_storm(storm(12.0)), "5,000 clients")[-1] == "met"
    assert row(report.ws_storm(storm(16.0)), "5,000 clients")[-1] == "**missed**"
    assert row(report.ws_storm(storm(12.0, losses=3)), "losses")[-1] == "**missed**"
    assert row(report.ws_storm(storm(12.0)), "presence changes per reconnect")[2] == "50.0"


def churn(slope: float) -> dict[str, Any]:
    target = {
        "connects": 5400,
        "failed": 0,
        "steady_dropped": 0,
        "rss_start_bytes": 100 * 2**20,
        "rss_end_bytes": 101 * 2**20,
        "rss_slope_mb_per_min_second_half": slope,
        "rss_growth_per_connect_bytes_second_half": 10.0,
    }
    return context(
        config={"rate": 30.0, "seconds": 180.0, "steady": 20},
        results={
            "chatsite": target,
            "websockets": dict(target, rss_slope_mb_per_min_second_half=0),
        },
    )


def test_churn_is_flat_below_a_tenth_of_a_megabyte_a_minute() -> None:
    assert row(report.ws_churn(churn(0.05)), "RSS slope")[-1] == "met"
    assert row(report.ws_churn(churn(-0.05)), "RSS slope")[-1] == "met"
    assert row(report.ws_churn(churn(0.54)), "RSS slope")[-1] == "**missed**"
    assert row(report.ws_churn(churn(0.0)), "RSS at the end")[2] == "101.0"


def test_main_renders_every_summary_found(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "ws_storm.json").write_text(json.dumps(storm(3.0)))
    (tmp_path / "ws_churn.json").write_text(json.dumps(churn(0.0)))
    assert report.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "### ws_storm" in out and "### ws_churn" in out and "### http_post" not in out
