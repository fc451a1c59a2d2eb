"""How apps define, enqueue and schedule background work (docs/architecture.md, "The worker").

- ``background_task`` turns a module-level function into a django-tasks ``Task`` and records
  how often a failure of it is retried;
- ``enqueue`` and ``enqueue_after`` put a call on the queue. The queue is a table in the site's
  database, so a task enqueued inside a transaction exists only if that transaction commits;
- ``register_periodic`` (called from an ``AppConfig.ready``) has the worker enqueue a task once
  every period, whichever worker process gets there first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.utils import timezone
from django_tasks import DEFAULT_TASK_QUEUE_NAME, TaskResult
from django_tasks import task as django_task
from django_tasks.base import Task

from chatsite import rls

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """A failed attempt is retried after ``delay * 2 ** (attempt - 1)`` seconds, until
    ``max_attempts`` attempts have failed; the last failure stays on the task's row."""

    max_attempts: int
    delay: float

    def delay_after(self, attempt: int) -> timedelta:
        return timedelta(seconds=self.delay * 2 ** max(attempt - 1, 0))


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: Task[[], Any]
    every: timedelta


# Per task path: (max_attempts, retry_delay) as the decorator was given them, None when unset.
_retry_overrides: dict[str, tuple[int | None, float | None]] = {}
_periodic: dict[str, PeriodicTask] = {}


def background_task(
    *,
    max_attempts: int | None = None,
    retry_delay: float | None = None,
    priority: int = 0,
    queue_name: str = DEFAULT_TASK_QUEUE_NAME,
) -> Callable[[Callable[P, T]], Task[P, T]]:
    """Decorate a module-level function: the result is a ``Task`` the worker can run.

    Unset, ``max_attempts`` and ``retry_delay`` come from ``CHAT_TASK_MAX_ATTEMPTS`` and
    ``CHAT_TASK_RETRY_DELAY`` when the failure happens. Arguments must be JSON values.
    """

    def decorate(function: Callable[P, T]) -> Task[P, T]:
        task: Task[P, T] = django_task(priority=priority, queue_name=queue_name)(function)
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if retry_delay is not None and retry_delay < 0:
            raise ValueError("retry_delay must not be negative")
        _retry_overrides[task.module_path] = (max_attempts, retry_delay)
        return task

    return decorate


def retry_policy(task_path: str) -> RetryPolicy:
    """The retry policy of a task, by its dotted path; settings fill what it left unset."""
    max_attempts, delay = _retry_overrides.get(task_path, (None, None))
    return RetryPolicy(
        max_attempts=settings.CHAT_TASK_MAX_ATTEMPTS if max_attempts is None else max_attempts,
        delay=settings.CHAT_TASK_RETRY_DELAY if delay is None else delay,
    )


def enqueue(task: Task[P, T], *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:
    """Queue ``task(*args, **kwargs)`` now.

    The queue's rows belong to the service role (row-level security): whoever is acting, the
    row is written as the service, inside the caller's transaction if there is one.
    """
    with rls.acting_as_service():
        return task.enqueue(*args, **kwargs)


def enqueue_after(
    delay: timedelta, task: Task[P, T], *args: P.args, **kwargs: P.kwargs
) -> TaskResult[T]:
    """Queue ``task(*args, **kwargs)`` to run no earlier than ``delay`` from now."""
    with rls.acting_as_service():
        return task.using(run_after=timezone.now() + delay).enqueue(*args, **kwargs)


def register_periodic(task: Task[[], Any], *, every: timedelta, name: str | None = None) -> None:
    """Have the worker enqueue ``task()`` once every ``every`` (call from ``AppConfig.ready``).

    The first run is due as soon as a worker starts; a task registered twice under one name
    keeps the last registration.
    """
    if every <= timedelta(0):
        raise ValueError("every must be a positive duration")
    key = name or task.module_path
    _periodic[key] = PeriodicTask(name=key, task=task, every=every)


def periodic_tasks() -> list[PeriodicTask]:
    return list(_periodic.values())
