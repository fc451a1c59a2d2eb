"""deploy/nginx.conf in front of incoming webhooks: a body over 64 KiB is refused with 413
before it is passed on, and neither the access log nor the error log shows a hook's token."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
TOKEN = "csh_not-a-real-token-but-shaped-like-one"


def _config(directory: Path, port: int) -> str:
    """The deploy configuration inside an http block, on a free port, its logs in
    ``directory``, its upstream a closed port (the app is not what is tested here)."""
    deploy = (ROOT / "deploy" / "nginx.conf").read_text()
    deploy = deploy.replace("resolver 127.0.0.11 valid=10s ipv6=off;", "")
    deploy = deploy.replace("zone chatsite_web 64k;", "")
    deploy = deploy.replace("server web:8000 resolve;", "server 127.0.0.1:9;")
    deploy = deploy.replace("/var/log/nginx/", f"{directory}/")
    deploy = deploy.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    return (
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
        f"http {{\n{deploy}\n}}\n"
    )


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[int]:
    if shutil.which(NGINX) is None:  # pragma: no cover - `make scaledeps` installs it
        pytest.fail("nginx is missing: run `make scaledeps`")
    port = free_port()
    config = tmp_path / "nginx.conf"
    config.write_text(_config(tmp_path, port))
    subprocess.run([NGINX, "-c", str(config), "-p", str(tmp_path)], check=True)
    deadline = time.monotonic() + 10
    while not (tmp_path / "nginx.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield port
    finally:
        subprocess.run([NGINX, "-c", str(config), "-p", str(tmp_path), "-s", "stop"], check=False)


def _post(port: int, path: str, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_nginx_refuses_a_large_hook_body_and_logs_no_token(nginx: int, tmp_path: Path) -> None:
    assert _post(nginx, f"/api/hooks/{TOKEN}/", b"x" * (10 * 1024 * 1024)) == 413
    assert _post(nginx, f"/api/hooks/{TOKEN}/?x=1", b"{}") == 502  # passed on: no app here
    assert _post(nginx, "/api/chat/messages/", b"x" * (100 * 1024)) == 502  # 1 MiB elsewhere
    # nginx writes a refused request's line once its lingering close ends: wait for it.
    deadline = time.monotonic() + 30
    access = ""
    while access.count("/api/hooks/[redacted]/") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        access = (tmp_path / "access.log").read_text()
    assert access.count("/api/hooks/[redacted]/") == 2, access
    for log in ("access.log", "error.log"):
        assert TOKEN not in (tmp_path / log).read_text()
