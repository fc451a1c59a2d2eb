"""What the worker keeps beside django-tasks' own table (docs/operations.md, "The worker")."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running worker process, refreshed every ``CHAT_WORKER_HEARTBEAT_SECONDS``.

    A clean stop deletes the row; a row that stops moving is a worker that died or hangs.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    queue_depth = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class PeriodicSchedule(models.Model):
    """When a registered periodic task was last enqueued, shared by every worker so that one
    of them enqueues it once per period."""

    name = models.CharField(max_length=200, primary_key=True)
    last_enqueued_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
