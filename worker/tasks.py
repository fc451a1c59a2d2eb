"""The worker's own periodic task."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from worker.registry import background_task


@background_task()
def prune_task_results() -> int:
    """Delete tasks that succeeded more than ``CHAT_TASK_RESULT_DAYS`` days ago; failed ones
    stay for the admin until someone deletes them. Returns how many went."""
    cutoff = timezone.now() - timedelta(days=settings.CHAT_TASK_RESULT_DAYS)
    deleted, _ = DBTaskResult.objects.filter(
        status=TaskResultStatus.SUCCESSFUL, finished_at__lt=cutoff
    ).delete()
    return deleted
