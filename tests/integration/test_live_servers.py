"""The live test servers (tests/live.py) run as production runs: DEBUG off, collected static
files served by ServeStatic, JSON logs, and the runtime role on the database, without
BYPASSRLS and owning nothing (docs/operations.md, "Roles and row-level security")."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests import live

pytestmark = pytest.mark.live


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_live_servers_run_as_production_runs(daphne_servers: list[Any], daphne: Any) -> None:
    for server in daphne_servers:
        # DEBUG off: a plain 404, not Django's technical page listing the URL patterns.
        status, _, body = fetch(f"{server.url}/no-such-page/")
        assert status == 404 and "URLconf" not in body
        # Static files from the collected STATIC_ROOT (no finders without DEBUG).
        status, headers, _ = fetch(f"{server.url}/static/js/room.js")
        assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
        assert (live.collected_static() / "js" / "room.js").exists()
        # One JSON object per log line: the request line of the 404 above among them.
        records = server.log_records()
        assert records and [r for r in records if r["level"] == "raw"] == []
        assert any(r["event"] == "request_finished" and r.get("status") == 404 for r in records), (
            records[-5:]
        )

        # /readyz makes a round trip to PostgreSQL (and to the layer, which RedisChannelLayer
        # answers only while no socket is open there: wait for the last test's to close).
        deadline = time.monotonic() + 15
        while (ready := fetch(f"{server.url}/readyz"))[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready[0] == 200, ready

    # The servers' pooled connections are the runtime role's: no BYPASSRLS, no ownership.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        users = {row[0] for row in cursor.fetchall()}
    assert settings.DATABASE_APP_ROLE in users
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        dbname=params["NAME"],
        user=settings.DATABASE_APP_ROLE,
    ) as raw:
        assert raw.execute(
            "SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False, False)
        assert raw.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            " AND tableowner = current_user"
        ).fetchone() == (0,)
