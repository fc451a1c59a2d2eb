"""The cache-based fixed window behind the sign-in and sign-up limits."""

from __future__ import annotations

import uuid

import pytest

from web.ratelimit import parse_rate, retry_after


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("20/min", (20, 60)), ("5/s", (5, 1)), ("100/hour", (100, 3600)), ("3/day", (3, 86400))],
)
def test_parse_rate_reads_drf_notation(rate: str, expected: tuple[int, int]) -> None:
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "20", "x/min", "20/fortnight", "20/"])
def test_parse_rate_refuses_nonsense(rate: str) -> None:
    with pytest.raises(ValueError, match="Invalid rate"):
        parse_rate(rate)


def test_retry_after_counts_attempts_per_identity() -> None:
    ident = str(uuid.uuid4())
    assert [retry_after(scope="t", ident=ident, rate="3/hour") for _ in range(3)] == [None] * 3
    wait = retry_after(scope="t", ident=ident, rate="3/hour")
    assert wait is not None
    assert 1 <= wait <= 3600
    assert retry_after(scope="t", ident=str(uuid.uuid4()), rate="3/hour") is None
