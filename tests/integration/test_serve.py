"""`manage.py serve` (what `make run` starts): loopback only with DEBUG, a banner once serving,
and the embedded SQLite default holding a small team."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench import sqlite_team
from chat.management.commands import serve
from chatsite import rls, serving
from tests.processes import run_python

ROOT = Path(__file__).resolve().parents[2]
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - what must be refused with DEBUG on


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (ANY_ADDRESS, False),
        ("::", False),
        ("192.168.1.10", False),
        ("no-such-host.invalid", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert serving.is_loopback(host) is loopback


def test_a_debug_server_refuses_a_public_address(settings: Any) -> None:
    settings.DEBUG = True
    with pytest.raises(CommandError) as refusal:
        call_command("serve", "--bind", ANY_ADDRESS)
    message = str(refusal.value)
    assert "\n" not in message
    assert "loopback" in message and "not 0.0.0.0" in message
    assert "DJANGO_DEBUG=0" in message and "ALLOWED_HOSTS" in message


def test_the_server_does_not_inherit_the_service_role_of_management_commands(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """manage.py runs commands as the database's service role; requests must not."""
    settings.DEBUG = False
    seen: dict[str, Any] = {}

    def run(self: Any, argv: list[str]) -> None:
        seen["context"] = rls.current()
        seen["argv"] = argv

    monkeypatch.setattr(serve._ServingInterface, "run", run)
    with rls.acting_as_service():
        call_command("serve", "--bind", ANY_ADDRESS, "--port", "8123")
    assert seen["context"] == rls.ANONYMOUS
    assert seen["argv"][-1] == "chatsite.asgi:application"
    assert seen["argv"][:5] == ["--verbosity", "0", "--bind", ANY_ADDRESS, "--port"]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = sqlite_team.embedded_environment(tmp_path)
    for name in ("DJANGO_DEBUG", "CHAT_MESSAGE_RATE", "CHAT_AUTH_RATE", "MAKELEVEL", "MFLAGS"):
        env.pop(name, None)
    env.update(extra)
    return env


def test_make_run_on_a_public_address_fails_with_one_clear_line(tmp_path: Path) -> None:
    port = str(sqlite_team.free_port())
    done = subprocess.run(
        ["make", "--no-print-directory", "run", "HOST=0.0.0.0", f"PORT={port}"],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("CommandError")]
    assert len(errors) == 1, done.stdout + done.stderr
    assert "not 0.0.0.0" in errors[0] and "DJANGO_DEBUG=0" in errors[0]
    assert "ALLOWED_HOSTS" in errors[0]
    assert not (tmp_path / "db.sqlite3").exists(), "refused before migrating or seeding"


@pytest.mark.live
def test_without_debug_it_serves_any_address_and_prints_its_url_once(tmp_path: Path) -> None:
    port = sqlite_team.free_port()
    env = _clean_env(tmp_path, DJANGO_DEBUG="0")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "serve",
            "--setup",
            "--bind",
            ANY_ADDRESS,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert first.startswith("seeded nothing:"), first
        assert second.startswith(f"chatsite is serving at http://0.0.0.0:{port}/"), second
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=20)
        log.close()
    assert "serving at" not in rest and "demo logins" not in rest


@pytest.mark.live
def test_the_embedded_sqlite_default_holds_ten_people_at_once(tmp_path: Path) -> None:
    """`make run`'s SQLite file and in-memory layer: ten people post, mark read and read
    history at the same time for a few seconds; no 5xx, and every acknowledged write is in
    the file afterwards (docs/performance.md, "The embedded default with a small team")."""
    summary = sqlite_team.run(users=10, duration=4.0, workdir=tmp_path)
    assert summary["server_errors"] == 0, summary["unexpected"]
    assert summary["unexpected"] == []
    for kind, expected in sqlite_team.EXPECTED.items():
        assert set(summary["by_kind"][kind]["statuses"]) == {str(expected)}, summary
    assert summary["by_kind"]["register"]["statuses"] == {"201": 10}
    assert summary["messages_acknowledged"] >= 10
    assert summary["missing"] == {"messages": 0, "read_markers": 0}
    stdout = summary["server_stdout"]
    assert sum(line.startswith("chatsite is serving at http://127.0.0.1:") for line in stdout) == 1
    assert stdout.count("demo logins: alice, bob, carol, moderator; password: chatsite-demo") == 1


@pytest.mark.parametrize(
    ("argv", "addresses"),
    [
        (["daphne", "-b", ANY_ADDRESS, "-p", "8000", "app"], [ANY_ADDRESS]),
        (["/venv/lib/daphne/__main__.py", "-p", "8000", "app"], ["127.0.0.1"]),
        (["/venv/bin/daphne", "app"], ["127.0.0.1"]),
        (["daphne", "-b", "::1", "-p", "8000", "app"], ["::1"]),
        (["daphne", "-u", "/run/chat.sock", "app"], []),
        (["daphne", "-e", "tcp:8000:interface=127.0.0.1", "app"], ["127.0.0.1"]),
        (["daphne", "-e", r"tcp6:8000:interface=\:\:1", "app"], ["::1"]),
        (["daphne", "-e", "tcp:8000", "app"], [ANY_ADDRESS]),
        (["daphne", "--fd", "3", "app"], ["fd:3"]),
        (["manage.py", "serve", "--bind", ANY_ADDRESS], []),
    ],
)
def test_the_addresses_a_daphne_command_line_listens_on(
    argv: list[str], addresses: list[str]
) -> None:
    assert serving.daphne_addresses(argv) == addresses


@pytest.mark.live
def test_a_debug_daphne_started_by_hand_refuses_a_public_address(tmp_path: Path) -> None:
    """`daphne -b 0.0.0.0 chatsite.asgi:application` with DEBUG on stops before listening."""
    port = str(sqlite_team.free_port())
    done = run_python(
        "-m",
        "daphne",
        *("-b", ANY_ADDRESS, "-p", port, serve.ASGI_APPLICATION),
        env=_clean_env(tmp_path, DJANGO_DEBUG="1"),
        timeout=120,
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: DEBUG is on"), last
    assert f"not {ANY_ADDRESS}" in last


@pytest.mark.live
def test_serve_with_worker_runs_the_worker_beside_daphne_and_stops_it_with_the_server(
    tmp_path: Path,
) -> None:
    """What `make run` starts (SQLite): the worker beats, /readyz says so, and stopping the
    server stops the worker."""
    port = sqlite_team.free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--setup", "--worker", "--port", str(port)],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[1].startswith(f"chatsite is serving at http://127.0.0.1:{port}/"), lines
        assert lines[2].startswith("background worker running (pid "), lines
        worker_pid = int(lines[2].split("pid ")[1].rstrip(")\n"))
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    report = json.loads(r.read())["worker"]
                if report["status"] == "ok":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert report["workers"] == 1
    finally:
        process.terminate()
        process.communicate(timeout=30)
        log.close()
    assert not Path(f"/proc/{worker_pid}").exists(), "the worker outlived the server"
