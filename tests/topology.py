"""The scale-out topology of docs/operations.md, started by the tests on their own ports.

- ``PgBouncer``: Debian's pgbouncer in transaction mode in front of a PostgreSQL database;
- ``Nginx``: Debian's nginx in front of several Daphne processes, as deploy/nginx.conf
  configures the proxy (WebSocket upgrade, X-Forwarded-For overwritten, ``/metrics`` refused
  at the edge), plus an ``X-Upstream`` response header naming the process that answered;
- ``Sentinel``: ``redis-server --sentinel`` watching a private redis-server.

Each writes its configuration, log and pid file into a temporary directory of its own and
runs as a child process (``stop`` ends it). The Makefile installs nginx and pgbouncer with
apt-get when they are missing (target ``scaledeps``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.live import free_port
from tests.private_services import START_TIMEOUT_SECONDS, _accepts, wait_for

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class _ChildService:
    """A server process with a temporary directory of its own."""

    name = "service"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=f"chatsite-{self.name}-"))
        self.directory.chmod(0o755)
        self.port = free_port()
        self.log_path = self.directory / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with (self.directory / "stdout.log").open("ab") as output:
            self.process = subprocess.Popen(
                self.command(), stdout=output, stderr=subprocess.STDOUT, cwd=self.directory
            )
        try:
            wait_for(lambda: self._listening(), START_TIMEOUT_SECONDS, f"{self.name} listening")
        except TimeoutError as error:
            raise RuntimeError(f"{error}:\n{self.log()}") from None

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log()}")
        return _accepts(self.port)

    def log(self) -> str:
        parts = []
        for path in (self.log_path, self.directory / "stdout.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)


class PgBouncer(_ChildService):
    """pgbouncer in transaction mode, one database entry ``database`` on ``server_port``.

    Authentication is ``trust`` for the users listed (the test PostgreSQL trusts them too);
    a production pgbouncer uses ``scram-sha-256`` with an auth_file or auth_query. PgBouncer
    refuses to run as root, so as root it runs as the ``postgres`` user.
    """

    name = "pgbouncer"

    def __init__(
        self,
        *,
        database: str,
        server_port: int,
        users: list[str],
        pool_size: int = 4,
        server_host: str = "127.0.0.1",
    ) -> None:
        super().__init__()
        self.database = database
        userlist = self.directory / "userlist.txt"
        userlist.write_text("".join(f'"{user}" ""\n' for user in users))
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            f"""[databases]
{database} = host={server_host} port={server_port} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {userlist}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {self.log_path}
pidfile = {self.directory / "pgbouncer.pid"}
admin_users = {users[0]}
"""
        )
        self.config = config
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            for path in (userlist, config):
                shutil.chown(path, "postgres", "postgres")

    def command(self) -> list[str]:
        command = [PGBOUNCER, str(self.config)]
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def url(self, role: str) -> str:
        return f"postgres://{role}@127.0.0.1:{self.port}/{self.database}"


class Nginx(_ChildService):
    """nginx in front of ``backends`` (ports of Daphne processes on 127.0.0.1), round robin."""

    name = "nginx"

    def __init__(
        self, backends: list[int], *, body_limit: str = "1m", accel_root: Path | None = None
    ) -> None:
        """``accel_root``: serve it at the internal location ``/protected-files/`` for
        X-Accel-Redirect answers, as deploy/nginx.conf serves the uploads."""
        super().__init__()
        accel = (
            f"""        location /protected-files/ {{
            internal;
            alias {accel_root}/;
            add_header X-Content-Type-Options nosniff always;
            add_header Content-Security-Policy "sandbox; default-src 'none'" always;
        }}
"""
            if accel_root is not None
            else ""
        )
        servers = "".join(f"        server 127.0.0.1:{port};\n" for port in backends)
        temp = "".join(
            f"    {kind}_temp_path {self.directory / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.config = self.directory / "nginx.conf"
        self.config.write_text(
            f"""{user}worker_processes 1;
pid {self.directory / "nginx.pid"};
error_log {self.log_path} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temp}
    upstream chatsite_web {{
{servers}        keepalive 32;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      "";
    }}
    map $http_x_request_id $chatsite_request_id {{
        default $http_x_request_id;
        ""      $request_id;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size {body_limit};
{accel}        location = /metrics {{
            return 404;
        }}
        location / {{
            proxy_pass http://chatsite_web;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $chatsite_request_id;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""
        )

    def command(self) -> list[str]:
        return [
            *(NGINX, "-c", str(self.config), "-p", str(self.directory)),
            *("-e", str(self.log_path), "-g", "daemon off;"),
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"


class MotoS3(_ChildService):
    """moto's server mode: a real S3-compatible HTTP server on 127.0.0.1, in memory."""

    name = "moto"

    def command(self) -> list[str]:
        moto = str(Path(sys.executable).with_name("moto_server"))
        return [moto, "-H", "127.0.0.1", "-p", str(self.port)]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Sentinel(_ChildService):
    """One Redis Sentinel (quorum 1) monitoring the master at ``master_port`` as ``master``."""

    name = "sentinel"

    def __init__(self, *, master: str, master_port: int) -> None:
        super().__init__()
        self.master = master
        self.config = self.directory / "sentinel.conf"
        self.config.write_text(
            f"""port {self.port}
bind 127.0.0.1
daemonize no
dir {self.directory}
logfile {self.log_path}
sentinel monitor {master} 127.0.0.1 {master_port} 1
sentinel down-after-milliseconds {master} 1000
sentinel failover-timeout {master} 5000
"""
        )

    def command(self) -> list[str]:
        return ["redis-server", str(self.config), "--sentinel"]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
