"""A failed task is retried with back-off, and every failure is logged (docs/operations.md,
"The worker").

django-tasks' database worker marks a task whose function raised as FAILED, with the
exception's class and traceback on the row, and then sends ``task_finished``. The receiver
below decides: while the task's ``RetryPolicy`` allows another attempt, the same row goes back
to READY with a later ``run_after`` (its ``worker_ids`` counting the attempts, the last error
still on it until an attempt succeeds); after the last attempt it stays FAILED, where the
admin's task list and ``/readyz`` show it. django-tasks logs each failure with its traceback
(logger ``django_tasks``); the line here adds the attempt and what happens next.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.utils import timezone
from django_tasks import TaskResult, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from worker.registry import retry_policy

logger = structlog.get_logger("chatsite.worker")


def retry_or_record_failure(sender: Any, task_result: TaskResult[Any], **kwargs: Any) -> None:
    if task_result.status != TaskResultStatus.FAILED:
        return
    row = DBTaskResult.objects.get(id=task_result.id)
    policy = retry_policy(row.task_path)
    attempt = len(row.worker_ids)
    details = {
        "task_id": str(row.id),
        "task": row.task_path,
        "attempt": attempt,
        "max_attempts": policy.max_attempts,
        "exception": row.exception_class_path,
    }
    if attempt >= policy.max_attempts:
        logger.error("task.failed", final=True, **details)
        return
    retry_at = timezone.now() + policy.delay_after(attempt)
    DBTaskResult.objects.filter(id=row.id, status=TaskResultStatus.FAILED).update(
        status=TaskResultStatus.READY, run_after=retry_at, finished_at=None
    )
    logger.warning(
        "task.failed",
        final=False,
        retry_at=retry_at.isoformat(),
        **details,
    )
