"""``manage.py worker``: run background tasks (docs/operations.md, "The worker").

django-tasks-db's ``db_worker`` with chatsite's additions: a heartbeat (which health reports),
periodic tasks, retries of failed tasks (``worker.retries``), and ``--parent-pid``, with which
``manage.py serve --worker`` ties the worker's life to the server's.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from worker.runner import Heartbeat, forget


class Command(DatabaseWorkerCommand):
    help = "Run the background worker: tasks, retries, periodic tasks and a heartbeat."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help="stop when this process is no longer the worker's parent",
        )
        # Every queue, and no reloading: a reload would cut a running task short.
        parser.set_defaults(queue_name="*", reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"]
        heartbeat = Heartbeat(worker_id=worker_id, parent_pid=options.pop("parent_pid"))
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
            forget(worker_id)
