"""The /metrics endpoint and what the code records (chatsite/metrics.py), in one process.

The live test of several processes scraped under load is in
tests/integration/test_scale_out.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from chatsite import metrics, ratelimit

TOKEN = "t" * 40


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_from_loopback_are_the_prometheus_text_format(db: None) -> None:
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "chatsite_http_request_duration_seconds",
        "chatsite_websockets_open",
        "chatsite_ws_deliveries",
        "chatsite_ws_replayed_events",
        "chatsite_layer_publish_duration_seconds",
        "chatsite_rate_limit_refusals",
    } <= names
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.8", "not-an-address"])
def test_metrics_from_another_address_are_the_sites_404(db: None, address: str) -> None:
    response = Client(REMOTE_ADDR=address).get("/metrics")
    assert response.status_code == 404
    assert b"chatsite_" not in response.content


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_bearer_token_opens_metrics_from_anywhere_and_a_wrong_one_nowhere(db: None) -> None:
    outside = Client(REMOTE_ADDR="203.0.113.9")
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 404
    # From an allowed address too, a wrong token is refused rather than ignored.
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 404


def test_an_allowed_range_opens_metrics(db: None, settings: Any) -> None:
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 404  # loopback is no longer listed


def test_metrics_take_no_post(db: None) -> None:
    assert Client().post("/metrics").status_code == 405


def test_each_response_is_timed_under_its_route_pattern(db: None) -> None:
    labels = {"method": "GET", "route": "healthz", "status": "200"}
    before = sample("chatsite_http_request_duration_seconds_count", **labels)
    assert Client().get("/healthz").status_code == 200
    assert sample("chatsite_http_request_duration_seconds_count", **labels) == before + 1

    # Paths that match no route share one series, whatever they are.
    lost = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before = sample("chatsite_http_request_duration_seconds_count", **lost)
    Client().get("/no/such/page/1")
    Client().get("/no/such/page/2")
    assert sample("chatsite_http_request_duration_seconds_count", **lost) == before + 2


def test_a_refused_action_is_counted_by_limit(db: None, settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/min"
    before = sample("chatsite_rate_limit_refusals_total", scope="auth")
    assert ratelimit.hit(ratelimit.AUTH, "198.51.100.7") is None
    assert ratelimit.hit(ratelimit.AUTH, "198.51.100.7") is not None
    assert sample("chatsite_rate_limit_refusals_total", scope="auth") == before + 1


def test_the_worker_queue_hook_sets_its_gauge() -> None:
    metrics.set_worker_queue_depth("mail", 7)
    assert sample("chatsite_worker_queue_depth", queue="mail") == 7
    metrics.set_worker_queue_depth("mail", 0)
    assert sample("chatsite_worker_queue_depth", queue="mail") == 0


def test_a_publish_is_timed_even_when_it_fails() -> None:
    before = sample("chatsite_layer_publish_duration_seconds_count")
    with pytest.raises(ConnectionError), metrics.timed_publish():
        raise ConnectionError("layer away")
    assert sample("chatsite_layer_publish_duration_seconds_count") == before + 1


def test_the_grafana_dashboard_asks_only_for_metrics_the_code_exports() -> None:
    import json
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "deploy/grafana/chatsite-dashboard.json").read_text()
    )
    exported = {
        sample_name
        for collector in (
            metrics.REQUEST_SECONDS,
            metrics.SOCKETS_OPEN,
            metrics.DELIVERIES,
            metrics.REPLAYED,
            metrics.LAYER_PUBLISH,
            metrics.RATE_LIMIT_REFUSALS,
            metrics.WORKER_QUEUE_DEPTH,
        )
        for family in collector.describe()
        for sample_name in (
            family.name,
            f"{family.name}_total",
            f"{family.name}_bucket",
            f"{family.name}_count",
            f"{family.name}_sum",
        )
    }
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(chatsite_[a-z_]+)\b", target["expr"])
    }
    assert asked and asked <= exported, asked - exported
    # Everything the code exports has a panel.
    families = {family.name.removesuffix("_total") for family in REGISTRY.collect()}
    shown = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in asked}
    assert {name for name in families if name.startswith("chatsite_")} <= shown
