"""The shape of docker-compose.yml, the Dockerfile and the proxy config (no Docker engine here).

Also keeps .env.example and docs/operations.md in step with the settings module: every
environment variable that chatsite/settings.py reads is listed in both.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


def _depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def _command_text(service: dict[str, Any]) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        value = service.get(key, [])
        parts.append(" ".join(value) if isinstance(value, list) else str(value))
    return " ".join(parts)


def test_compose_has_the_six_services(services: dict[str, Any]) -> None:
    always = {name for name, service in services.items() if not service.get("profiles")}
    assert always == {"postgres", "redis", "migrate", "web", "worker", "proxy"}


def test_the_worker_runs_manage_py_worker_as_the_runtime_role_after_migrating(
    services: dict[str, Any],
) -> None:
    worker, web = services["worker"], services["web"]
    assert worker["command"] == ["python", "manage.py", "worker"]
    assert worker["image"] == web["image"]
    # The same environment as web: the runtime role (RLS applies), mail and push settings.
    assert worker["environment"] == web["environment"]
    assert worker["environment"]["DATABASE_URL"].startswith("postgres://chatsite_app:")
    assert _depends(worker)["migrate"] == "service_completed_successfully"
    assert _depends(worker)["postgres"] == "service_healthy"
    assert worker["restart"] == "unless-stopped"
    assert "ports" not in worker and "expose" not in worker


def test_the_scale_profile_adds_a_layer_shard_that_web_can_be_pointed_at(
    services: dict[str, Any],
) -> None:
    shard = services["redis-layer"]
    assert shard["profiles"] == ["scale"]
    assert shard["image"].startswith("redis:7") and "ping" in str(shard["healthcheck"]["test"])
    env = services["web"]["environment"]
    assert env["CHANNEL_LAYER_REDIS_URLS"] == "${CHANNEL_LAYER_REDIS_URLS:-}"
    # Without the profile, nothing depends on it.
    assert all("redis-layer" not in s.get("depends_on", {}) for s in services.values())


def test_the_proxy_refuses_metrics_at_the_edge() -> None:
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;", config)


def test_postgres_15_with_healthcheck_and_a_named_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in str(postgres["healthcheck"]["test"])
    data_mounts = [m for m in postgres["volumes"] if m.endswith(":/var/lib/postgresql/data")]
    assert len(data_mounts) == 1
    volume_name = data_mounts[0].split(":")[0]
    assert volume_name in compose["volumes"], "PostgreSQL data must live in a named volume"


def test_postgres_creates_an_app_role_that_row_level_security_applies_to(
    services: dict[str, Any],
) -> None:
    postgres = services["postgres"]
    # POSTGRES_USER is a superuser, and superusers bypass RLS: the app must not use it.
    assert postgres["environment"]["POSTGRES_USER"] == "postgres"
    init_mounts = [m for m in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in m]
    assert init_mounts
    script = (ROOT / init_mounts[0].split(":")[0]).read_text()
    for role in ("chatsite", "chatsite_app"):
        assert re.search(rf"CREATE ROLE {role} LOGIN .*NOSUPERUSER NOBYPASSRLS", script)
    assert "CREATE DATABASE chatsite OWNER chatsite;" in script
    # Web runs as the runtime role (owns nothing), the migrate job as the owner.
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://chatsite_app:")
    assert services["web"]["environment"]["DATABASE_APP_ROLE"] == "chatsite_app"
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://chatsite:")


def test_redis_7_with_healthcheck(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert "ping" in str(redis["healthcheck"]["test"])


def test_migrate_is_a_one_shot_migrate_and_first_admin_after_healthy_services(
    services: dict[str, Any],
) -> None:
    migrate = services["migrate"]
    command = _command_text(migrate)
    assert "manage.py migrate" in command
    assert "manage.py ensure_admin" in command
    assert command.index("migrate --noinput") < command.index("ensure_admin")
    assert migrate.get("restart", "no") == "no"
    assert _depends(migrate) == {"postgres": "service_healthy", "redis": "service_healthy"}


_ADMIN_VARIABLES = {"CHAT_ADMIN_USERNAME", "CHAT_ADMIN_PASSWORD", "CHAT_ADMIN_EMAIL"}


def test_compose_seeds_no_demo_users_and_passes_the_first_admin_through(
    services: dict[str, Any],
) -> None:
    """No published password anywhere: no seed step, no SEED_PASSWORD, no DEBUG; the first
    admin's name and password come from the operator's environment, to the one-shot job only."""
    for name, service in services.items():
        assert "manage.py seed" not in _command_text(service), name
        assert "SEED_PASSWORD" not in service.get("environment", {}), name
    assert "chatsite-demo" not in (ROOT / "docker-compose.yml").read_text()
    migrate_env = services["migrate"]["environment"]
    for variable in _ADMIN_VARIABLES:
        assert migrate_env[variable] == f"${{{variable}:-}}"
        assert variable not in services["web"]["environment"]
    assert migrate_env["DJANGO_DEBUG"] == services["web"]["environment"]["DJANGO_DEBUG"] == "0"


def test_compose_requires_a_secret_key_from_the_operator(services: dict[str, Any]) -> None:
    for name in ("migrate", "web"):
        key = services[name]["environment"]["DJANGO_SECRET_KEY"]
        assert key.startswith("${DJANGO_SECRET_KEY:?"), f"{name} must refuse to start without it"
    # A developer's local key file and database never reach the image.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".secret_key", "db.sqlite3", ".env"} <= set(ignored)


def test_web_can_be_scaled_behind_the_proxy(services: dict[str, Any]) -> None:
    web = services["web"]
    assert "ports" not in web, "a fixed host port would stop `--scale web=3`"
    assert "container_name" not in web
    assert _depends(web)["migrate"] == "service_completed_successfully"
    assert "healthcheck" in web
    env = web["environment"]
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert env["DJANGO_DEBUG"] == "0"
    assert env["LOG_FORMAT"] == "json"
    assert "DJANGO_SECRET_KEY" in env
    migrate_env = dict(services["migrate"]["environment"])
    job_only = {"DATABASE_URL", *_ADMIN_VARIABLES}
    assert {k: v for k, v in migrate_env.items() if k not in job_only} == {
        k: v for k, v in env.items() if k not in job_only
    }


def test_the_proxy_publishes_the_one_port_and_upgrades_websockets(
    services: dict[str, Any],
) -> None:
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]
    proxy = services["proxy"]
    assert len(proxy["ports"]) == 1
    assert proxy["image"].startswith(("nginx:", "caddy:"))
    config_mounts = [m for m in proxy["volumes"] if m.startswith("./")]
    assert len(config_mounts) == 1
    config = (ROOT / config_mounts[0].split(":")[0]).read_text()
    assert re.search(r"server\s+web:8000", config)
    assert "proxy_set_header Upgrade $http_upgrade" in config
    assert "proxy_set_header Connection $connection_upgrade" in config
    assert "proxy_http_version 1.1" in config
    assert "X-Forwarded-Proto" in config
    assert "X-Request-ID" in config
    container_port = proxy["ports"][0].rsplit(":", 1)[-1]
    assert re.search(rf"listen\s+{container_port};", config)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_is_slim_non_root_with_daphne_entrypoint_and_healthcheck() -> None:
    instructions = _dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")

    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users, "the image must switch to a non-root user"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    # Nothing runs as root after the switch.
    assert "RUN" not in keywords[keywords.index("USER") :]

    entrypoint = next(rest for keyword, rest in instructions if keyword == "ENTRYPOINT")
    assert shlex.split(entrypoint.strip("[]").replace(",", " "))[0] == "daphne"
    command = next(rest for keyword, rest in instructions if keyword == "CMD")
    assert "chatsite.asgi:application" in command
    healthcheck = next(rest for keyword, rest in instructions if keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert any("collectstatic" in rest for keyword, rest in instructions if keyword == "RUN")


def _settings_env_names() -> set[str]:
    text = (ROOT / "chatsite" / "settings.py").read_text()
    pattern = r'(?:os\.environ\.get|os\.getenv|env_bool|env_int|env_list)\(\s*"([A-Z][A-Z0-9_]*)"'
    return set(re.findall(pattern, text))


def test_every_setting_from_the_environment_is_in_env_example_and_operations_doc() -> None:
    names = _settings_env_names()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "LOG_FORMAT", "DJANGO_HTTPS"} <= names
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert sorted(names - listed) == [], ".env.example misses these variables"
    operations = (ROOT / "docs" / "operations.md").read_text()
    undocumented = sorted(name for name in names if f"`{name}`" not in operations)
    assert undocumented == [], "docs/operations.md misses these variables"
