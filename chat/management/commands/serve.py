"""Serve chatsite with Daphne, as `make run` does: on a loopback address only while DEBUG is on.

``manage.py serve --setup`` first migrates, purges expired tokens and sessions, seeds the demo
data (chat.management.commands.seed decides whether demo users may exist), makes the first admin
from the environment and collects static files, all in this one process; then it serves, and
once listening prints the URL (and the demo logins, when there are demo users) one time.
``--worker`` starts ``manage.py worker`` beside the server as a child process and stops it
when the server stops; the worker also stops by itself if the server dies without a word.
"""

from __future__ import annotations

import contextvars
import io
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from accounts import notices
from chat.management.commands.seed import SEED_FILE_PASSWORD, demo_password, demo_users_exist
from chatsite.serving import DEBUG_NEEDS_LOOPBACK, is_loopback

ASGI_APPLICATION = "chatsite.asgi:application"


def _url(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class Command(BaseCommand):
    help = "Serve chatsite with Daphne (with DEBUG on, on a loopback address only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on")
        parser.add_argument(
            "--setup",
            action="store_true",
            help="migrate, purge_expired, seed, ensure_admin and collectstatic before serving",
        )
        parser.add_argument(
            "--worker",
            action="store_true",
            help="run the background worker (manage.py worker) beside the server",
        )

    def handle(
        self, *args: Any, bind: str, port: int, setup: bool, worker: bool, **options: Any
    ) -> None:
        if settings.DEBUG and not is_loopback(bind):
            raise CommandError(DEBUG_NEEDS_LOOPBACK.format(host=bind))
        if setup:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("purge_expired", stdout=io.StringIO())  # quietly: nothing to act on
            call_command("seed", stdout=self.stdout)
            call_command("ensure_admin", stdout=self.stdout)
            call_command("collectstatic", interactive=False, verbosity=0)
        banner = [f"chatsite is serving at {_url(bind, port)}  (Ctrl+C stops it)"]
        password = demo_password()
        if password is not None and demo_users_exist():
            shown = password if password == SEED_FILE_PASSWORD else "the SEED_PASSWORD you set"
            banner.append(f"demo logins: alice, bob, carol, moderator; password: {shown}")
        banner.extend(notices.serving_notes())
        connections.close_all()
        # --verbosity 0: no plain-text access log; the app logs each request itself.
        argv = ["--verbosity", "0", "--bind", bind, "--port", str(port), ASGI_APPLICATION]
        background = start_worker() if worker else None
        if background is not None:
            banner.insert(1, f"background worker running (pid {background.pid})")
        try:
            # manage.py runs commands as the database's service role (chatsite.rls); the
            # server must not inherit that: every request and socket says who is acting.
            contextvars.Context().run(_ServingInterface(lambda: self._announce(banner)).run, argv)
        finally:
            if background is not None:
                stop_worker(background)

    def _announce(self, lines: list[str]) -> None:
        for line in lines:
            self.stdout.write(line)
        self.stdout.flush()


def start_worker() -> subprocess.Popen[bytes]:
    """``manage.py worker`` as a child that watches this process (``--parent-pid``)."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"]
    command += ["--parent-pid", str(os.getpid())]
    return subprocess.Popen(command, cwd=settings.BASE_DIR)  # noqa: S603 - our own command


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM: the worker finishes the task it runs, then exits; a worker stuck past
    ``timeout`` seconds is killed (its task is then recovered as an orphan and retried)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _ServingInterface(CommandLineInterface):
    """Daphne's command line, calling ``on_ready`` once the server listens."""

    def __init__(self, on_ready: Callable[[], None]) -> None:
        super().__init__()
        interface = self

        class ServerAnnouncing(Server):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, ready_callable=interface._ready, **kwargs)

        self.server_class = ServerAnnouncing
        self._on_ready = on_ready

    def _ready(self) -> None:
        from twisted.internet import reactor

        # Called after the listeners are set up; the reactor runs the callback once started.
        reactor.callWhenRunning(self._after_listening)

    def _after_listening(self) -> None:
        server = self.server
        if server is not None and server.listening_addresses:
            self._on_ready()
