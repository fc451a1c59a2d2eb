"""The worker's pieces in process: the registry, the heartbeat's work, the queue's RLS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY

from chatsite import rls
from tests import worker_tasks
from worker import registry, runner, status
from worker.models import PeriodicSchedule, WorkerHeartbeat


def test_a_task_without_its_own_policy_follows_the_settings(settings: Any) -> None:
    settings.CHAT_TASK_MAX_ATTEMPTS = 4
    settings.CHAT_TASK_RETRY_DELAY = 5
    policy = registry.retry_policy("worker.tasks.prune_task_results")
    assert (policy.max_attempts, policy.delay) == (4, 5)
    assert [policy.delay_after(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    own = registry.retry_policy("tests.worker_tasks.always_fails")
    assert (own.max_attempts, own.delay) == (3, 0.2)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_attempts": 0}, "max_attempts"), ({"retry_delay": -1}, "retry_delay")],
)
def test_a_task_with_an_impossible_retry_policy_is_refused(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        registry.background_task(**options)(worker_tasks.write_file.func)


def test_a_periodic_task_needs_a_positive_period() -> None:
    with pytest.raises(ValueError, match="positive"):
        registry.register_periodic(worker_tasks.write_file, every=timedelta(0))  # type: ignore[arg-type]


@pytest.mark.django_db
def test_members_enqueue_through_the_registry_but_never_read_the_queue(alice: Any) -> None:
    with rls.acting_as_user(alice):
        result = registry.enqueue(worker_tasks.write_file, "/nonexistent", "secret")
        assert not DBTaskResult.objects.filter(id=result.id).exists()
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            worker_tasks.write_file.enqueue("/nonexistent", "direct")
    with rls.acting_as(rls.ANONYMOUS):
        assert not DBTaskResult.objects.exists()
    with rls.acting_as_service():
        row = DBTaskResult.objects.get(id=result.id)
    assert row.args_kwargs["args"] == ["/nonexistent", "secret"]


@pytest.mark.django_db
def test_moderators_read_the_queue_for_the_admin(moderator: Any) -> None:
    result = registry.enqueue(worker_tasks.write_file, "/nonexistent", "x")
    with rls.acting_as_user(moderator):
        assert DBTaskResult.objects.filter(id=result.id).exists()
        with (
            pytest.raises(ProgrammingError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "INSERT INTO worker_periodicschedule (name, last_enqueued_at) VALUES ('x', now())"
            )


@pytest.mark.django_db
def test_a_task_enqueued_after_a_delay_waits(settings: Any) -> None:
    later = registry.enqueue_after(timedelta(minutes=5), worker_tasks.write_file, "/x", "y")
    with rls.acting_as_service():
        assert not DBTaskResult.objects.ready().filter(id=later.id).exists()
        assert runner.queue_depths() == {}


@pytest.mark.django_db
def test_a_heartbeat_records_the_worker_feeds_the_gauge_and_enqueues_due_periodic_tasks() -> None:
    registry.enqueue(worker_tasks.write_file, "/x", "y")
    beat = runner.Heartbeat(worker_id="w1")
    registered = len(registry.periodic_tasks())  # this app's and the notifications app's
    with rls.acting_as_service():
        beat.beat()
        row = WorkerHeartbeat.objects.get(worker_id="w1")
        assert PeriodicSchedule.objects.filter(name="worker.tasks.prune_task_results").exists()
        periodic = DBTaskResult.objects.filter(task_path="worker.tasks.prune_task_results")
        assert periodic.count() == 1
        beat.beat()  # still queued: not enqueued twice
        assert periodic.count() == 1
    assert row.queue_depth == 1  # counted before the periodic tasks joined the queue
    # The second beat counted them too.
    depth = REGISTRY.get_sample_value("chatsite_worker_queue_depth", {"queue": "default"})
    assert depth == 1 + registered
    report = status.worker_report()
    assert report["status"] == "ok" and report["queue_depth"] == 1 + registered


@pytest.mark.django_db
def test_an_orphan_past_its_last_attempt_fails_for_good(settings: Any) -> None:
    settings.CHAT_TASK_MAX_ATTEMPTS = 2
    orphan = registry.enqueue(worker_tasks.write_file, "/x", "y")
    now = timezone.now()
    with rls.acting_as_service(), transaction.atomic():
        DBTaskResult.objects.filter(id=orphan.id).update(
            status=TaskResultStatus.RUNNING,
            worker_ids=["gone-1", "gone-2"],
            started_at=now - timedelta(hours=1),
        )
        assert runner.recover_orphans(now) == 1
        row = DBTaskResult.objects.get(id=orphan.id)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "worker.WorkerLost" and row.finished_at == now


@pytest.mark.django_db
def test_a_heartbeat_left_by_a_dead_worker_makes_the_report_stale(settings: Any) -> None:
    assert status.worker_report()["status"] == "absent"
    with rls.acting_as_service():
        WorkerHeartbeat.objects.create(
            worker_id="old",
            hostname="h",
            pid=1,
            started_at=timezone.now() - timedelta(hours=1),
            last_seen=timezone.now() - timedelta(minutes=5),
        )
    report = status.worker_report()
    assert report["status"] == "stale" and report["workers"] == 0
