"""Demo data: one SQL file, loaded by psql or by `manage.py seed`, idempotently."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from chat.management.commands.seed import NOT_SEEDED
from chat.models import Channel, Membership, Message
from tests.processes import run_python

ROOT = Path(settings.BASE_DIR)
SEED_SQL = ROOT / "seeds" / "chat" / "seed_messages.sql"


def _counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Channel.objects.count(),
        Membership.objects.count(),
        Message.objects.count(),
    )


@pytest.fixture
def debug_on(settings: Any) -> None:
    """What `make run` sets: DEBUG on, no SEED_PASSWORD."""
    settings.DEBUG = True
    settings.SEED_PASSWORD = ""


def _seed() -> str:
    output = io.StringIO()
    call_command("seed", stdout=output)
    return output.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("debug_on")
def test_seed_command_loads_demo_data_once() -> None:
    call_command("seed", stdout=open(os.devnull, "w"))  # noqa: SIM115
    first = _counts()
    call_command("seed", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert _counts() == first == (4, 5, 14, 15)
    general = Channel.objects.get(name="general")
    assert general.last_seq == 10
    assert list(general.messages.values_list("seq", flat=True)) == list(range(1, 11))
    staff = Channel.objects.get(name="staff")
    assert staff.is_private
    assert set(staff.memberships.values_list("user__username", flat=True)) == {
        "moderator",
        "alice",
    }
    ids = dict(User.objects.values_list("username", "id"))
    dms = {
        channel.dm_key: sorted(channel.memberships.values_list("user__username", flat=True))
        for channel in Channel.objects.filter(kind="dm")
    }
    assert dms == {
        ",".join(str(ids[name]) for name in ("alice", "bob")): ["alice", "bob"],
        ",".join(str(ids[name]) for name in ("alice", "bob", "carol")): ["alice", "bob", "carol"],
    }
    assert all(channel.is_private for channel in Channel.objects.filter(kind="dm"))
    moderator = User.objects.get(username="moderator")
    assert moderator.is_staff and moderator.role == "moderator"
    assert User.objects.get(username="alice").check_password("chatsite-demo")


@pytest.mark.django_db
def test_seed_password_comes_from_the_environment(settings: Any) -> None:
    """An explicit SEED_PASSWORD is enough, without DEBUG (a demo server for others)."""
    settings.DEBUG = False
    settings.SEED_PASSWORD = "another-secret-9"
    call_command("seed", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert User.objects.get(username="bob").check_password("another-secret-9")
    assert not User.objects.get(username="bob").check_password("chatsite-demo")


@pytest.mark.django_db
def test_without_debug_or_seed_password_seed_creates_nothing_and_says_why(
    settings: Any,
) -> None:
    settings.DEBUG = False
    settings.SEED_PASSWORD = ""
    assert _seed() == NOT_SEEDED + "\n"
    assert "DJANGO_DEBUG=1" in NOT_SEEDED and "SEED_PASSWORD" in NOT_SEEDED
    assert _counts() == (0, 0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_seed_sql_applied_twice_with_psql_leaves_ten_messages() -> None:
    params = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": params["HOST"] or "127.0.0.1",
        "PGPORT": str(params["PORT"] or 5432),
        "PGUSER": params["USER"],
        "PGDATABASE": params["NAME"],
        # The app role is subject to row-level security: seeding acts as the service.
        "PGOPTIONS": "-c app.role=service",
    }
    for _ in range(2):
        subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(SEED_SQL)],
            env=env,
            check=True,
            capture_output=True,
        )
    assert Message.objects.filter(channel__name="general").count() == 10
    assert _counts() == (4, 5, 14, 15)


def test_embedded_sqlite_mode_migrates_seeds_and_serves(tmp_path: Path) -> None:
    """The `make run` default (SQLite, in-memory layer) keeps working."""
    script = (
        "import django, os\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.test import Client\n"
        "from chatsite import rls\n"
        "with rls.acting_as_service():\n"
        "    call_command('migrate', verbosity=0)\n"
        "    call_command('seed')\n"
        "    call_command('seed')\n"
        "c = Client()\n"
        "print('healthz', c.get('/healthz').status_code)\n"
        "print('admin', c.get('/admin/login/').status_code)\n"
        "print('readyz', c.get('/readyz').status_code)\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "COV_CORE_SOURCE", "SEED_PASSWORD"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        DJANGO_DEBUG="1",  # as `make run`
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    result = run_python("-c", script, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("seeded: 4 users, 5 channels, 15 messages") == 2
    assert "healthz 200" in lines and "admin 200" in lines and "readyz 200" in lines
