"""Rates in DRF's notation (``120/min``), shared by every limit: REST, pages and WebSocket."""

from __future__ import annotations

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/min"`` -> ``(20, 60)``: the number of requests allowed and the window in seconds."""
    try:
        count, period = rate.split("/", 1)
        return int(count), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        raise ValueError(f"Invalid rate {rate!r}: use <number>/<s|min|hour|day>.") from None


def per_second(rate: str) -> float:
    """A rate as actions per second: ``"120/min"`` -> 2.0."""
    count, seconds = parse_rate(rate)
    return count / seconds
