"""Markdown tables of the benchmark summaries, for docs/performance.md.

    .venv/bin/python -m bench.report bench/results

reads the summaries ``make bench`` writes (``http_post.json``, ``ws_fanout.json``,
``ws_idle.json``, ``ws_storm.json``, ``ws_churn.json``) from the folder, those that exist, and
prints the tables: every metric, its target, chatsite's value, the reference's, the ratio, and
whether the target is met. The targets are the current round's (docs/performance.md, "Targets
at a glance"); each verdict is computed here from the figures, so an older summary is judged
by today's targets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(a: Any, b: Any) -> str:
    if isinstance(a, bool) or isinstance(b, bool):
        return ""
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "-"
    return f"{a / b:.2f}x"


def met(condition: bool | None) -> str:
    if condition is None:
        return "-"
    return "met" if condition else "**missed**"


def at_least(value: Any, factor: float, reference: Any) -> bool | None:
    """value ≥ factor x reference, or None (no verdict) where either is missing."""
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return None
    return value >= factor * reference


def at_most(value: Any, factor: float, reference: Any) -> bool | None:
    """value ≤ factor x reference, or None (no verdict) where either is missing."""
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return None
    return value <= factor * reference


def dig(node: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested dicts, or None where the path ends early."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def three_way_row(
    label: str, target: str, values: tuple[Any, Any, Any], digits: int, verdict: str
) -> list[str]:
    """chatsite, bare server, tutorial shape, then chatsite's ratio to each reference."""
    mine, bare, tutorial = values
    return [
        label,
        target,
        fmt(mine, digits),
        fmt(bare, digits),
        fmt(tutorial, digits),
        ratio(mine, bare),
        ratio(mine, tutorial),
        verdict,
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def busy_cores(summary: dict[str, Any]) -> list[float]:
    """machine_busy_cores of every measured phase in a summary."""
    found: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "machine_busy_cores" in node:
                found.append(float(node["machine_busy_cores"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(summary.get("results", {}))
    return found


def context_line(summary: dict[str, Any]) -> str:
    busy = busy_cores(summary)
    shared = (
        f" The whole machine was busy {min(busy):.2f}-{max(busy):.2f} cores of 2 during the"
        " measured phases (everything on the box, the benchmark included)."
        if busy
        else ""
    )
    return (
        f"Run at {summary['started_at']} on commit `{summary['commit']}`, "
        f"{summary['cpus']} CPUs, load average {summary['load_average_at_start'][0]} at the start "
        f"and {summary['load_average_at_end'][0]} at the end.{shared} "
        f"Command: `{summary['command']}`"
    )


def http_post(summary: dict[str, Any]) -> str:
    mine = summary["results"]["chatsite"]
    ref = summary["results"]["plain_view"]
    rows: list[list[str]] = []
    closed_m, closed_r = mine["closed"], ref["closed"]
    open_m, open_r = mine["open"], ref["open"]
    rows.append(
        [
            f"closed loop, {summary['config']['clients']} clients: throughput (req/s)",
            "≥ 50% of the plain view",
            fmt(closed_m["throughput_per_s"]),
            fmt(closed_r["throughput_per_s"]),
            ratio(closed_m["throughput_per_s"], closed_r["throughput_per_s"]),
            met(at_least(closed_m["throughput_per_s"], 0.5, closed_r["throughput_per_s"])),
        ]
    )
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        rows.append(
            [
                f"closed loop: {key.replace('_ms', '')} (ms)",
                "",
                fmt(closed_m["latency"].get(key)),
                fmt(closed_r["latency"].get(key)),
                ratio(closed_m["latency"].get(key), closed_r["latency"].get(key)),
                "",
            ]
        )
    rows.append(
        [
            "closed loop: errors",
            "0",
            fmt(closed_m["errors"]),
            fmt(closed_r["errors"]),
            "",
            met(closed_m["errors"] == 0),
        ]
    )
    rate = summary["config"]["open_rate_per_s"]
    rows.append(
        [
            f"open loop {fmt(rate, 0)}/s: completed (req/s)",
            fmt(rate, 0),
            fmt(open_m["throughput_per_s"]),
            fmt(open_r["throughput_per_s"]),
            "",
            "",
        ]
    )
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        rows.append(
            [
                f"open loop: {key.replace('_ms', '')} (ms)",
                "≤ 3x the plain view" if key == "p95_ms" else "",
                fmt(open_m["latency"].get(key)),
                fmt(open_r["latency"].get(key)),
                ratio(open_m["latency"].get(key), open_r["latency"].get(key)),
                met(at_most(open_m["latency"].get(key), 3, open_r["latency"].get(key)))
                if key == "p95_ms"
                else "",
            ]
        )
    rows.append(
        [
            "open loop: errors",
            "0",
            fmt(open_m["errors"]),
            fmt(open_r["errors"]),
            "",
            met(open_m["errors"] == 0),
        ]
    )
    for mode in ("closed", "open"):
        rows.append(
            [
                f"{mode} loop: server CPU per request (ms)",
                "",
                fmt(mine[mode]["server_cpu_ms_per_request"], 2),
                fmt(ref[mode]["server_cpu_ms_per_request"], 2),
                ratio(
                    mine[mode]["server_cpu_ms_per_request"], ref[mode]["server_cpu_ms_per_request"]
                ),
                "",
            ]
        )
    header = ["metric", "target", "chatsite", "plain Django view", "ratio", ""]
    return context_line(summary) + "\n\n" + table(header, rows)


def ws_fanout(summary: dict[str, Any]) -> str:
    results = summary["results"]
    mine_all = results.get("chatsite", {})
    parts = [context_line(summary)]
    for n in sorted(mine_all, key=int):
        mine = mine_all[n]
        bare = results.get("websockets", {}).get(n, {})
        tut = results.get("tutorial", {}).get(n, {})

        def row(
            label: str,
            path: tuple[str, ...],
            target: str = "",
            digits: int = 1,
            verdict: str = "",
            mine: dict[str, Any] = mine,
            bare: dict[str, Any] = bare,
            tut: dict[str, Any] = tut,
        ) -> list[str]:
            values = (dig(mine, path), dig(bare, path), dig(tut, path))
            return three_way_row(label, target, values, digits, verdict)

        big = n == "1000"
        steady_p99 = dig(mine, ("steady", "delivery", "p99_ms"))
        bare_p99 = dig(bare, ("steady", "delivery", "p99_ms"))
        sat = dig(mine, ("saturation", "deliveries_per_s"))
        sat_cpu = dig(mine, ("saturation", "server_cpu_us_per_delivery"))
        rows = [
            row("steady 1/s: delivery p50 (ms)", ("steady", "delivery", "p50_ms")),
            row(
                "steady 1/s: delivery p99 (ms)",
                ("steady", "delivery", "p99_ms"),
                "≤ 2x bare" if big else "",
                verdict=met(at_most(steady_p99, 2, bare_p99)) if big else "",
            ),
            row("steady 1/s: last-recipient p99 (ms)", ("steady", "last_recipient", "p99_ms")),
            row(
                "steady 1/s: server CPU per delivery (µs)",
                ("steady", "server_cpu_us_per_delivery"),
            ),
            row(
                "saturation: deliveries/s",
                ("saturation", "deliveries_per_s"),
                "≥ 10x tutorial, ≥ 35% of bare" if big else "",
                verdict=met(
                    bool(at_least(sat, 10, dig(tut, ("saturation", "deliveries_per_s"))))
                    and bool(at_least(sat, 0.35, dig(bare, ("saturation", "deliveries_per_s"))))
                )
                if big and sat is not None
                else "",
            ),
            row("saturation: at send rate (msg/s)", ("saturation", "at_rate_per_s"), digits=0),
            row(
                "saturation: server CPU per delivery (µs)",
                ("saturation", "server_cpu_us_per_delivery"),
                "≤ 40 µs" if big else "",
                verdict=met(sat_cpu <= 40) if big and sat_cpu is not None else "",
            ),
            row(
                "losses (all phases)",
                ("losses",),
                "0",
                verdict=met(mine["losses"] == 0),
            ),
            row("late deliveries (after a step's drain window)", ("late_deliveries",)),
            row("seq gaps seen by subscribers", ("seq_gaps",), "0"),
            row("subscribers connected", ("subscribers_connected",), f"{int(n):,}", digits=0),
            row("failed handshake attempts (retried)", ("failed_connect_attempts",), digits=0),
            row("connect + ready p99 (ms)", ("connect", "p99_ms")),
            row("settling after the connects (s)", ("settle_after_connect", "seconds"), digits=2),
            row("servers alive after mass disconnect", ("servers_alive_after_mass_disconnect",)),
        ]
        header = [
            "metric",
            "target",
            "chatsite",
            "bare websockets",
            "tutorial shape",
            "vs bare",
            "vs tutorial",
            "",
        ]
        parts.append(f"#### N = {n} subscribers\n\n" + table(header, rows))
    return "\n\n".join(parts)


def ws_idle(summary: dict[str, Any]) -> str:
    results = summary["results"]
    mine = results["chatsite"]
    bare = results.get("websockets", {})
    tut = results.get("tutorial", {})
    connections = mine["idle"]["connections"]

    def row(label: str, path: tuple[str, ...], target: str = "", verdict: str = "") -> list[str]:
        values = (dig(mine, path), dig(bare, path), dig(tut, path))
        digits = 2 if "percent" in path[-1] or "ms_per" in path[-1] else 1
        return three_way_row(label, target, values, digits, verdict)

    kb, bare_kb = mine["rss_per_connection_kb"], bare.get("rss_per_connection_kb")
    rows = [
        row(
            "RSS per connection (kB, slope)",
            ("rss_per_connection_kb",),
            "<= 2x bare",
            met(kb <= 2 * bare_kb) if kb is not None and bare_kb else "",
        ),
        row(
            f"idle CPU with {connections:,} connections (% of one core)",
            ("idle", "server_core_percent"),
            "< 5% at 5,000",
            met(mine["idle"]["server_core_percent"] < 5) if connections >= 5000 else "",
        ),
        row("Redis CPU during the idle window (s)", ("idle", "redis_cpu_s")),
        row("handshake p50 (ms)", ("handshake", "p50_ms")),
        row("handshake p99 (ms)", ("handshake", "p99_ms")),
        row("ready (welcome) p50 (ms)", ("ready", "p50_ms")),
        row("ready (welcome) p99 (ms)", ("ready", "p99_ms")),
        row("connections dropped while idle", ("dropped_while_idle",), "0"),
        row("failed handshake attempts (retried)", ("failed_connect_attempts",)),
        row("connections never opened", ("connections_not_opened",), "0"),
    ]
    last = {name: r["steps"][-1] for name, r in results.items()}
    for key, label, target in (
        ("connects_per_s", "connects/s (last step)", ""),
        ("server_cpu_ms_per_connect", "server CPU per connect (ms, last step)", "≤ 3 ms"),
    ):
        a, b, c = (last.get(t, {}).get(key) for t in ("chatsite", "websockets", "tutorial"))
        verdict = met(a <= 3) if target and isinstance(a, int | float) else ""
        rows.append(
            [label, target, fmt(a, 2), fmt(b, 2), fmt(c, 2), ratio(a, b), ratio(a, c), verdict]
        )
    names = [t for t in ("chatsite", "tutorial", "websockets") if t in results]
    steps = table(
        ["connections", *(f"{t} RSS (MiB)" for t in names)],
        [
            [
                fmt(step["connections"]),
                *(fmt(results[t]["steps"][i]["rss_bytes"] / 2**20) for t in names),
            ]
            for i, step in enumerate(mine["steps"])
            if all(i < len(results[t]["steps"]) for t in names)
        ],
    )
    header = [
        "metric",
        "target",
        "chatsite",
        "bare websockets",
        "tutorial shape",
        "vs bare",
        "vs tutorial",
        "",
    ]
    return context_line(summary) + "\n\n" + table(header, rows) + "\n\n" + steps


def ws_storm(summary: dict[str, Any]) -> str:
    result = summary["result"]
    clients = result["clients"]
    ready_s = result["all_ready_s"]
    presence = result["presence_frames_per_reconnect"]
    rows = [
        [
            f"{clients:,} clients on {result['processes']} processes: all ready again (s)",
            "≤ 15 s",
            fmt(ready_s, 2),
            met(ready_s <= 15 and result["not_ready"] == 0) if ready_s is not None else "",
        ],
        ["ready p50 (ms)", "", fmt(result["ready"].get("p50_ms")), ""],
        ["ready p99 (ms)", "", fmt(result["ready"].get("p99_ms")), ""],
        ["clients never ready", "0", fmt(result["not_ready"]), met(result["not_ready"] == 0)],
        [
            "failed handshake attempts (retried)",
            "0",
            fmt(result["failed_handshake_attempts"]),
            met(result["failed_handshake_attempts"] == 0),
        ],
        [
            f"losses (of {result['deliveries_expected']:,} deliveries)",
            "0",
            fmt(result["losses"]),
            met(result["losses"] == 0),
        ],
        ["messages sent during the storm", "", fmt(result["messages_sent"]), ""],
        ["error events", "0", fmt(result["error_events"]), met(result["error_events"] == 0)],
        [
            "presence frames per reconnect",
            "constant (≤ 5)",
            fmt(presence, 2),
            met(presence <= 5) if presence is not None else "",
        ],
        [
            "presence changes per reconnect (one snapshot of the room)",
            "",
            fmt(result["presence_changes"] / max(result["reconnected"], 1), 1),
            "",
        ],
        ["server CPU per reconnect (ms)", "", fmt(result["server_cpu_ms_per_reconnect"], 2), ""],
        ["servers alive", "yes", fmt(result["servers_alive"]), met(result["servers_alive"])],
    ]
    return context_line(summary) + "\n\n" + table(["metric", "target", "chatsite", ""], rows)


# Memory under churn is flat when the second half of the run grows by less than this: the
# round-2 leak was 0.54 MB/min at 30 connects/s, about 0.3 kB per connect.
FLAT_MB_PER_MIN = 0.1


def ws_churn(summary: dict[str, Any]) -> str:
    results = summary["results"]
    config = summary["config"]
    names = [t for t in ("chatsite", "websockets", "tutorial") if t in results]
    rows = []
    for label, key, digits in (
        ("connects made", "connects", 0),
        ("connects failed", "failed", 0),
        ("steady sockets dropped", "steady_dropped", 0),
        ("RSS at the start (MiB)", "rss_start_bytes", 1),
        ("RSS at the end (MiB)", "rss_end_bytes", 1),
        ("RSS slope, second half (MB/min)", "rss_slope_mb_per_min_second_half", 2),
        (
            "RSS growth per connect, second half (bytes)",
            "rss_growth_per_connect_bytes_second_half",
            0,
        ),
    ):
        values = [results[t].get(key) for t in names]
        if key.endswith("_bytes") and "growth" not in key:
            values = [v / 2**20 if isinstance(v, int | float) else v for v in values]
        target, verdict = "", ""
        if key == "rss_slope_mb_per_min_second_half":
            target = f"≤ {FLAT_MB_PER_MIN} (flat)"
            verdict = met(abs(values[0]) <= FLAT_MB_PER_MIN)
        elif key in ("failed", "steady_dropped"):
            target, verdict = "0", met(values[0] == 0)
        rows.append([label, target, *(fmt(v, digits) for v in values), verdict])
    header = ["metric", "target", *names, ""]
    return (
        context_line(summary)
        + f" {fmt(config['rate'], 0)} connects/s for {fmt(config['seconds'], 0)} s with"
        + f" {config['steady']} steady sockets.\n\n"
        + table(header, rows)
    )


RENDERERS = (
    ("http_post", http_post),
    ("ws_fanout", ws_fanout),
    ("ws_idle", ws_idle),
    ("ws_storm", ws_storm),
    ("ws_churn", ws_churn),
)


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:] or ["bench/results"])[0])
    for name, render in RENDERERS:
        path = folder / f"{name}.json"
        text = path.read_text() if path.exists() else ""
        if text.strip():
            print(f"### {name}\n\n{render(json.loads(text))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
