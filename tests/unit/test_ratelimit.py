"""chatsite.ratelimit: rates, the fixed window, and the one client-address resolver."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import RequestFactory

from chatsite import ratelimit


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("20/min", (20, 60)), ("5/s", (5, 1)), ("100/hour", (100, 3600)), ("3/day", (3, 86400))],
)
def test_parse_rate_reads_drf_notation(rate: str, expected: tuple[int, int]) -> None:
    assert ratelimit.parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "20", "x/min", "20/fortnight", "20/"])
def test_parse_rate_refuses_nonsense(rate: str) -> None:
    with pytest.raises(ValueError, match="Invalid rate"):
        ratelimit.parse_rate(rate)


def test_hit_counts_per_identity_and_says_how_long_to_wait(settings: Any) -> None:
    settings.CHAT_EDIT_RATE = "3/hour"
    ident = str(uuid.uuid4())
    assert [ratelimit.hit(ratelimit.EDIT, ident) for _ in range(3)] == [None] * 3
    wait = ratelimit.hit(ratelimit.EDIT, ident)
    assert wait is not None and 1 <= wait <= 3600
    assert ratelimit.hit(ratelimit.EDIT, str(uuid.uuid4())) is None


def test_one_resolver_for_requests_and_socket_scopes(settings: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    scope = {"client": ["10.0.0.1", 5000], "headers": [(b"x-forwarded-for", b"1.1.1.1")]}
    settings.NUM_PROXIES = 0  # the client's own X-Forwarded-For is ignored
    assert ratelimit.client_ip(request) == ratelimit.scope_client_ip(scope) == "10.0.0.1"
    settings.NUM_PROXIES = 1
    assert ratelimit.client_ip(request) == ratelimit.scope_client_ip(scope) == "1.1.1.1"
    assert ratelimit.scope_client_ip({}) == "unknown"
