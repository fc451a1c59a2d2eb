"""Production settings, checked in fresh processes (settings are read once, at import)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.processes import run_python

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "COV_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="chat.example.com",
        CSRF_TRUSTED_ORIGINS="https://chat.example.com",
    )
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python(*args, env=env, timeout=120)


def test_check_deploy_passes_at_warning_level_with_production_settings() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "secret_key",
    [
        "django-insecure-dev-only-key-change-me-in-production-0123456789",
        "change-me-to-a-long-random-string",
        "too-short-but-random-Xq3",
    ],
)
def test_production_refuses_to_start_with_an_insecure_secret_key(secret_key: str) -> None:
    env = _production_env()
    env["DJANGO_SECRET_KEY"] = secret_key
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


_HTTPS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/admin/login/", HTTP_HOST="chat.example.com")
probe = client.get("/healthz", HTTP_HOST="chat.example.com")
proxied = client.get("/healthz", HTTP_HOST="chat.example.com", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "redirect": [plain.status_code, plain.get("Location")],
    "probe": probe.status_code,
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


def _https_probe(**env: str) -> dict[str, Any]:
    result = _run(["-c", _HTTPS_PROBE], _production_env(**env))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_https_switch_redirects_sets_hsts_and_secure_cookies_but_spares_probes() -> None:
    probe = _https_probe()
    assert probe["redirect"] == [301, "https://chat.example.com/admin/login/"]
    assert probe["probe"] == 200
    assert probe["proxied"][0] == 200
    assert probe["proxied"][1] == "max-age=31536000; includeSubDomains; preload"
    assert probe["session_secure"] is True
    assert probe["csrf_secure"] is True
    assert probe["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_without_https_switch_there_is_no_redirect_and_no_hsts() -> None:
    probe = _https_probe(DJANGO_HTTPS="0")
    assert probe["redirect"][0] == 200
    assert probe["proxied"][1] is None
    assert probe["session_secure"] is False
    assert probe["proxy_header"] is None
