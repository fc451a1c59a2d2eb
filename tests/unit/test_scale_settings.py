"""Scale-out settings read from the environment: layer shards, Redis Sentinel, metrics access
(docs/operations.md, "Scaling out", "Redis Sentinel", "Metrics")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.processes import run_python
from tests.unit.test_safe_defaults import _clean_env

_PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "layer": settings.CHANNEL_LAYERS["default"],
    "cache": settings.CACHES["default"],
    "metrics": [str(network) for network in settings.METRICS_ALLOWED_NETWORKS],
    "database": settings.DATABASES["default"],
}, default=list))
"""


def _probe(tmp_path: Path, **env: str) -> tuple[int, dict[str, object] | str]:
    done = run_python("-c", _PROBE, env=_clean_env(tmp_path, **env), timeout=60)
    if done.returncode != 0:
        return done.returncode, done.stderr
    return 0, json.loads(done.stdout)


def test_the_layer_is_sharded_over_every_listed_redis_in_order(tmp_path: Path) -> None:
    urls = ["redis://layer-a:6379/0", "redis://layer-b:6379/0", "redis://layer-c:6380/2"]
    for backend in ("pubsub", "core"):
        code, found = _probe(
            tmp_path,
            REDIS_URL="redis://cache:6379/0",
            CHANNEL_LAYER_REDIS_URLS=" , ".join(urls),
            CHANNEL_LAYER_BACKEND=backend,
        )
        assert code == 0, found
        assert isinstance(found, dict)
        hosts = found["layer"]["CONFIG"]["hosts"]  # type: ignore[index]
        assert [host["address"] for host in hosts] == urls
        assert all(host["max_connections"] == 10_000 for host in hosts)
        assert found["cache"]["LOCATION"] == "redis://cache:6379/0"  # type: ignore[index]


def test_without_shards_the_layer_is_on_redis_url(tmp_path: Path) -> None:
    code, found = _probe(tmp_path, REDIS_URL="redis://one:6379/3")
    assert code == 0, found
    assert isinstance(found, dict)
    hosts = found["layer"]["CONFIG"]["hosts"]  # type: ignore[index]
    assert [host["address"] for host in hosts] == ["redis://one:6379/3"]


def test_with_sentinels_the_url_names_the_master_for_layer_and_cache(tmp_path: Path) -> None:
    code, found = _probe(
        tmp_path,
        REDIS_URL="redis://:s3cret@chatsite/2",
        CHANNEL_LAYER_REDIS_URLS="redis://layer-1/0,redis://layer-2/0",
        REDIS_SENTINELS="s1:26379, s2:26380,s3",
    )
    assert code == 0, found
    assert isinstance(found, dict)
    sentinels = [["s1", 26379], ["s2", 26380], ["s3", 26379]]
    hosts = found["layer"]["CONFIG"]["hosts"]  # type: ignore[index]
    assert [(h["master_name"], h["db"], h["sentinels"]) for h in hosts] == [
        ("layer-1", 0, sentinels),
        ("layer-2", 0, sentinels),
    ]
    cache = found["cache"]
    assert isinstance(cache, dict)
    assert cache["LOCATION"] == "redis://:s3cret@chatsite/2"
    assert cache["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert cache["OPTIONS"]["SENTINELS"] == sentinels

    code, found = _probe(tmp_path, REDIS_URL="redis://:pw@main/1", REDIS_SENTINELS="s1")
    assert code == 0, found
    assert isinstance(found, dict)
    [host] = found["layer"]["CONFIG"]["hosts"]  # type: ignore[index]
    assert (host["master_name"], host["db"], host["password"]) == ("main", 1, "pw")


def test_a_sentinel_without_a_port_number_names_the_variable(tmp_path: Path) -> None:
    code, error = _probe(tmp_path, REDIS_URL="redis://main/0", REDIS_SENTINELS="s1:port")
    assert code != 0 and "REDIS_SENTINELS" in str(error)
    code, error = _probe(tmp_path, REDIS_URL="unix:///run/redis.sock", REDIS_SENTINELS="s1:1")
    assert code != 0 and "redis://<master>/<db>" in str(error)


def test_metrics_access_settings_are_checked(tmp_path: Path) -> None:
    code, found = _probe(tmp_path)
    assert code == 0 and isinstance(found, dict)
    assert found["metrics"] == ["127.0.0.1/32", "::1/128"]
    code, found = _probe(tmp_path, METRICS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.7")
    assert code == 0 and isinstance(found, dict)
    assert found["metrics"] == ["10.0.0.0/8", "192.0.2.7/32"]
    code, error = _probe(tmp_path, METRICS_ALLOWED_IPS="10.0.0.0/33")
    assert code != 0 and "METRICS_ALLOWED_IPS" in str(error)
    code, error = _probe(tmp_path, METRICS_TOKEN="short")
    assert code != 0 and "METRICS_TOKEN" in str(error)


def test_transaction_pooling_turns_server_side_cursors_off(tmp_path: Path) -> None:
    url = "postgres://chatsite_app@pgbouncer:6432/chatsite"
    for pooling, expected in (("1", True), ("0", False)):
        code, found = _probe(tmp_path, DATABASE_URL=url, DATABASE_TRANSACTION_POOLING=pooling)
        assert code == 0 and isinstance(found, dict), found
        database = found["database"]
        assert isinstance(database, dict)
        assert database["DISABLE_SERVER_SIDE_CURSORS"] is expected
        assert database["OPTIONS"]["rls_transaction_local"] is expected
        assert database["CONN_MAX_AGE"] == 0
