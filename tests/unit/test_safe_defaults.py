"""Safe by default: settings read in fresh processes with a clean environment.

Settings are read once, at import, so each case runs Python in a subprocess with only what a
fresh shell would have: no DJANGO_* variables, no database or Redis.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.processes import run_python

ROOT = Path(__file__).resolve().parents[2]

_SETTINGS_PROBE = """
import json
from django.conf import settings
print(json.dumps({"debug": settings.DEBUG, "key": settings.SECRET_KEY}))
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DJANGO_SECRET_KEY_FILE": str(tmp_path / "keys" / "secret_key"),
    }
    env.update(extra)
    return env


def _start(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _settings(env: dict[str, str]) -> dict[str, object]:
    done = run_python("-c", _SETTINGS_PROBE, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_without_environment_debug_is_off_and_the_key_is_random_in_a_private_file(
    tmp_path: Path,
) -> None:
    env = _clean_env(tmp_path)
    key_file = Path(env["DJANGO_SECRET_KEY_FILE"])
    # Several processes starting at once (Daphne replicas, make run's steps) agree on one key.
    processes = [_start(_SETTINGS_PROBE, env) for _ in range(4)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout))
    assert {result["debug"] for result in results} == {False}
    keys = {result["key"] for result in results}
    assert len(keys) == 1
    key = keys.pop()
    assert len(key) >= 50 and not key.startswith("django-insecure")
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(path.name for path in key_file.parent.iterdir()) == ["secret_key"]
    assert key not in (ROOT / "chatsite" / "settings.py").read_text()
    # Stable: a later process reads the same key back.
    assert _settings(env)["key"] == key


def test_another_key_file_gives_another_key(tmp_path: Path) -> None:
    first = _settings(_clean_env(tmp_path))["key"]
    other = _settings(_clean_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(tmp_path / "other")))
    assert other["key"] != first


def test_no_secret_key_constant_is_left_in_the_settings() -> None:
    text = (ROOT / "chatsite" / "settings.py").read_text()
    assert "_DEV_SECRET_KEY" not in text
    assert "django-insecure-" not in text


def test_the_default_key_file_is_git_ignored() -> None:
    done = subprocess.run(
        ["git", "check-ignore", "--quiet", ".secret_key"], cwd=ROOT, check=False, timeout=30
    )
    assert done.returncode == 0, ".secret_key must be in .gitignore"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    _settings(env)
    key_file = Path(env["DJANGO_SECRET_KEY_FILE"])
    key_file.chmod(0o644)
    done = run_python("-c", _SETTINGS_PROBE, env=env, timeout=60)
    assert done.returncode != 0
    assert f"chmod 600 {key_file}" in done.stderr.splitlines()[-1]


def test_an_unwritable_key_file_place_names_the_variables_to_set(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    env = _clean_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(blocked / "secret_key"))
    done = run_python("-c", _SETTINGS_PROBE, env=env, timeout=60)
    assert done.returncode != 0
    last = done.stderr.splitlines()[-1]
    assert "ImproperlyConfigured" in last
    assert "DJANGO_SECRET_KEY" in last and "DJANGO_SECRET_KEY_FILE" in last


def test_an_explicit_key_wins_and_makes_no_file(tmp_path: Path) -> None:
    key = "k" * 10 + "-explicit-and-long-enough-0123456789-abcdefghijklmnop"
    env = _clean_env(tmp_path, DJANGO_SECRET_KEY=key)
    assert _settings(env) == {"debug": False, "key": key}
    assert not Path(env["DJANGO_SECRET_KEY_FILE"]).exists()


_NOT_FOUND_PROBE = """
import django
django.setup()
from django.test import Client
response = Client().get("/no-such-page/")
print(response.status_code)
print(response.content.decode())
"""


def test_the_debug_404_page_lists_no_routes(tmp_path: Path) -> None:
    """`make run` turns DEBUG on; its 404 page is still the site's own, not a URL map."""
    for debug in ("1", "0"):
        done = run_python(
            "-c", _NOT_FOUND_PROBE, env=_clean_env(tmp_path, DJANGO_DEBUG=debug), timeout=60
        )
        assert done.returncode == 0, done.stderr
        status, _, page = done.stdout.partition("\n")
        assert status == "404"
        assert "Not found" in page
        for route in ("URLconf", "admin/", "api/", "healthz", "channels/<"):
            assert route not in page, (debug, route)
