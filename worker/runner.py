"""The parts of the worker process beside django-tasks' own loop: the heartbeat, periodic
tasks, tasks orphaned by a dead worker, the queue-depth gauge, and the parent watch of
``manage.py serve --worker`` (docs/architecture.md, "The worker").

django-tasks-db's ``Worker.run`` is one loop with no hook between tasks, so all of this runs
in one daemon thread of the worker process, with its own database connection.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chatsite import metrics, rls
from worker.models import PeriodicSchedule, WorkerHeartbeat
from worker.registry import PeriodicTask, enqueue, periodic_tasks, retry_policy

logger = structlog.get_logger("chatsite.worker")


def stale_after() -> timedelta:
    return timedelta(seconds=settings.CHAT_WORKER_STALE_SECONDS)


def queue_depths() -> dict[str, int]:
    """Tasks ready to run now, per queue."""
    rows = DBTaskResult.objects.ready().values("queue_name").annotate(n=Count("id"))
    return {row["queue_name"]: row["n"] for row in rows.order_by()}


def enqueue_due(periodic: PeriodicTask, now: datetime) -> bool:
    """Enqueue ``periodic`` if its period has passed and no run of it is waiting or running;
    the schedule's row lock makes one worker of several do it."""
    with transaction.atomic():
        schedule, created = PeriodicSchedule.objects.select_for_update().get_or_create(
            name=periodic.name, defaults={"last_enqueued_at": now}
        )
        if not created and schedule.last_enqueued_at + periodic.every > now:
            return False
        pending = DBTaskResult.objects.filter(
            task_path=periodic.task.module_path,
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        )
        if pending.exists():
            return False
        schedule.last_enqueued_at = now
        schedule.save(update_fields=["last_enqueued_at"])
        enqueue(periodic.task)
    logger.info("task.periodic_enqueued", name=periodic.name)
    return True


def recover_orphans(now: datetime) -> int:
    """A RUNNING task whose worker stopped beating was cut off mid-run (the process was
    killed): it counts as a failed attempt, retried or failed for good like any other."""
    live = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=now - stale_after()).values_list(
            "worker_id", flat=True
        )
    )
    recovered = 0
    running = DBTaskResult.objects.running().filter(started_at__lt=now - stale_after())
    for row in running.select_for_update(skip_locked=True):
        if row.worker_ids and row.worker_ids[-1] in live:
            continue
        policy = retry_policy(row.task_path)
        final = len(row.worker_ids) >= policy.max_attempts
        row.status = TaskResultStatus.FAILED if final else TaskResultStatus.READY
        row.exception_class_path = "worker.WorkerLost"
        row.traceback = f"The worker {row.worker_ids[-1:]} stopped during this attempt."
        row.finished_at = now if final else None
        row.run_after = now if final else now + policy.delay_after(len(row.worker_ids))
        row.save(
            update_fields=[
                "status",
                "exception_class_path",
                "traceback",
                "finished_at",
                "run_after",
            ]
        )
        logger.error(
            "task.failed",
            task_id=str(row.id),
            task=row.task_path,
            attempt=len(row.worker_ids),
            max_attempts=policy.max_attempts,
            exception=row.exception_class_path,
            final=final,
        )
        recovered += 1
    return recovered


class Heartbeat(threading.Thread):
    """Every ``CHAT_WORKER_HEARTBEAT_SECONDS``: record that this worker lives and how long the
    queue is, enqueue the periodic tasks that are due, recover orphaned tasks; and end the
    process (SIGTERM, the worker's own graceful stop) once the parent it watches is gone."""

    def __init__(self, *, worker_id: str, parent_pid: int | None = None) -> None:
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.parent_pid = parent_pid
        self.started_at = timezone.now()
        self._stopping = threading.Event()

    def run(self) -> None:
        with rls.acting_as_service():
            while True:
                try:
                    self.beat()
                except Exception:
                    logger.exception("worker.heartbeat_failed", worker_id=self.worker_id)
                finally:
                    close_old_connections()
                if self._parent_gone():
                    logger.warning("worker.parent_gone", parent_pid=self.parent_pid)
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                if self._stopping.wait(settings.CHAT_WORKER_HEARTBEAT_SECONDS):
                    break
        connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)

    def _parent_gone(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def beat(self) -> None:
        now = timezone.now()
        depths = queue_depths()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "last_seen": now,
                "queue_depth": sum(depths.values()),
            },
        )
        for queue in {*depths, *settings.TASKS["default"].get("QUEUES", [])}:
            metrics.set_worker_queue_depth(queue, depths.get(queue, 0))
        for periodic in periodic_tasks():
            enqueue_due(periodic, now)
        with transaction.atomic():
            recover_orphans(now)
        # Rows of workers gone for a day are history, not state.
        WorkerHeartbeat.objects.filter(last_seen__lt=now - timedelta(days=1)).delete()


def forget(worker_id: str) -> None:
    """A clean stop: the worker's heartbeat row goes, so health does not call it stale."""
    with rls.acting_as_service():
        WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
