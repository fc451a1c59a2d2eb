"""What the pool's connection check (DATABASE_POOL_CHECK) costs per request.

Two Daphne processes on one private PostgreSQL and Redis (tests/private_services.py), one with
the check and one without, each asked GET /api/auth/me/ (a JWT request: one user query)
sequentially over a keep-alive connection, in alternating rounds so that load from elsewhere
on the machine falls on both. Prints the latency of each side; docs/operations.md ("Outages")
keeps the result.

    .venv/bin/python -m bench.pool_check --rounds 6
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from tests import live
from tests.private_services import RUNTIME_ROLE, PrivatePostgres, PrivateRedis

PASSWORD = "bench-Pass-4242"  # noqa: S105 (a throwaway user of a throwaway database)


def _call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: object = None,
    token: str = "",
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=300, help="per round and side")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="chatsite-pool-check-"))
    postgres = PrivatePostgres()
    redis = PrivateRedis(log_dir)
    servers: dict[str, live.LiveServer] = {}
    try:
        postgres.start()
        redis.start()
        postgres.create_app_database(redis.url)
        secret = secrets.token_urlsafe(64)  # one key: a token from one side works on the other
        for check in ("1", "0"):
            env = live.server_environment(
                database_url=postgres.url(RUNTIME_ROLE),
                redis_url=redis.url,
                prefix="pool-check",
                extra={
                    "DJANGO_DEBUG": "0",
                    "DJANGO_SECRET_KEY": secret,
                    "LOG_LEVEL": "WARNING",
                    "DATABASE_POOL_CHECK": check,
                },
            )
            servers[check] = live.start_servers(1, log_dir=log_dir, env=env)[0]
        connections = {
            check: http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            for check, server in servers.items()
        }
        user = {"username": "bench", "email": "bench@example.com", "password": PASSWORD}
        status, _ = _call(connections["1"], "POST", "/api/auth/register/", user)
        assert status == 201, status
        _, body = _call(connections["1"], "POST", "/api/auth/token/", user)
        token = json.loads(body)["access"]
        latencies: dict[str, list[float]] = {"1": [], "0": []}
        for round_number in range(args.rounds + 1):
            for check, connection in connections.items():
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status, _ = _call(connection, "GET", "/api/auth/me/", token=token)
                    assert status == 200, status
                    if round_number:  # round 0 warms up
                        latencies[check].append((time.perf_counter() - started) * 1000)
        for check, label in (("1", "check on "), ("0", "check off")):
            values = sorted(latencies[check])
            print(
                f"{label}: n={len(values)} mean={statistics.mean(values):.3f} ms "
                f"p50={values[len(values) // 2]:.3f} ms p90={values[int(len(values) * 0.9)]:.3f} ms"
            )
    finally:
        live.stop_servers(list(servers.values()))
        redis.kill()
        postgres.destroy()


if __name__ == "__main__":
    main()
