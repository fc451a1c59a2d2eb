"""What health reports about the worker (``/readyz``; docs/operations.md, "Health probes")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chatsite import rls
from worker.models import WorkerHeartbeat
from worker.runner import stale_after


def worker_report() -> dict[str, Any]:
    """``status``: ``ok`` (a worker beat within ``CHAT_WORKER_STALE_SECONDS``), ``stale`` (the
    last beat is older) or ``absent`` (no worker running); the number of live workers, the
    last beat, the tasks ready to run and the tasks that failed for good in the last day."""
    now = timezone.now()
    with rls.acting_as_service():
        last_seen = WorkerHeartbeat.objects.order_by("-last_seen").values_list(
            "last_seen", flat=True
        )
        latest = last_seen.first()
        live = WorkerHeartbeat.objects.filter(last_seen__gte=now - stale_after()).count()
        queue_depth = DBTaskResult.objects.ready().count()
        failed = (
            DBTaskResult.objects.failed().filter(finished_at__gte=now - timedelta(days=1)).count()
        )
    if latest is None:
        status = "absent"
    elif live:
        status = "ok"
    else:
        status = "stale"
    return {
        "status": status,
        "workers": live,
        "last_heartbeat": latest.isoformat() if latest else None,
        "queue_depth": queue_depth,
        "failed_last_day": failed,
    }
