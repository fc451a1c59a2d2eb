"""The background worker as a real process (``manage.py worker``): retries with back-off,
the final failure kept and logged, periodic tasks, the heartbeat that health reports, and
orphaned tasks recovered (docs/operations.md, "The worker")."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chatsite import rls
from tests import worker_tasks
from tests.worker_support import WORKER_SETTINGS, log_events, start_worker, wait_for
from worker.models import PeriodicSchedule, WorkerHeartbeat
from worker.registry import enqueue, periodic_tasks

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _health_as_the_workers_see_it(settings: Any) -> None:
    """This process's /readyz judges staleness as the test workers beat (WORKER_SETTINGS)."""
    settings.CHAT_WORKER_STALE_SECONDS = float(WORKER_SETTINGS["CHAT_WORKER_STALE_SECONDS"])


def _row(task_id: str) -> DBTaskResult:
    with rls.acting_as_service():
        return DBTaskResult.objects.get(id=task_id)


def _readyz_worker() -> dict[str, Any]:
    response = Client().get("/readyz")
    return dict(response.json()["worker"])


def test_a_failing_task_is_retried_with_back_off_then_kept_as_failed_and_logged(
    tmp_path: Path,
) -> None:
    doomed = enqueue(worker_tasks.always_fails, str(tmp_path / "doomed"))
    flaky = enqueue(worker_tasks.fails_once, str(tmp_path / "flaky"))
    worker = start_worker(tmp_path)
    try:
        wait_for(
            lambda: (
                _row(doomed.id).status == TaskResultStatus.FAILED
                and len(_row(doomed.id).worker_ids) == 3
            ),
            message=worker.log,
        )
        wait_for(lambda: _row(flaky.id).status == TaskResultStatus.SUCCESSFUL, message=worker.log)
    finally:
        assert worker.stop() == 0, worker.log()
    failed = _row(doomed.id)
    assert (tmp_path / "doomed").read_text() == "xxx"  # three attempts, then no more
    assert failed.exception_class_path == "tests.worker_tasks.Refused"
    assert "attempt 3 refused" in failed.traceback
    # Back-off: the second retry waited twice as long as the first (0.2 s, then 0.4 s).
    assert failed.finished_at is not None and failed.started_at is not None
    assert failed.finished_at - failed.enqueued_at >= timedelta(seconds=0.6)
    succeeded = _row(flaky.id)
    assert len(succeeded.worker_ids) == 2 and succeeded.return_value == "done"
    assert succeeded.traceback == ""  # the error of the first attempt is gone with success
    failures = [r for r in log_events(worker, "task.failed") if r["task_id"] == str(doomed.id)]
    assert [(r["attempt"], r["final"]) for r in failures] == [(1, False), (2, False), (3, True)]
    assert failures[-1]["level"] == "error" and failures[0]["level"] == "warning"
    assert "retry_at" in failures[0] and "retry_at" not in failures[-1]


def test_the_final_failure_shows_in_the_admin_and_in_health(
    tmp_path: Path, admin_client: Client
) -> None:
    doomed = enqueue(worker_tasks.always_fails, str(tmp_path / "doomed"))
    worker = start_worker(tmp_path)
    try:
        wait_for(
            lambda: (
                _row(doomed.id).status == TaskResultStatus.FAILED
                and len(_row(doomed.id).worker_ids) == 3
            ),
            message=worker.log,
        )
        report = _readyz_worker()
    finally:
        worker.stop()
    assert report["failed_last_day"] == 1
    page = admin_client.get("/admin/django_tasks_database/dbtaskresult/?status__exact=FAILED")
    assert page.status_code == 200
    assert "always_fails" in page.content.decode()


def test_health_reports_the_worker_ok_then_absent_after_a_clean_stop(tmp_path: Path) -> None:
    assert _readyz_worker()["status"] == "absent"
    worker = start_worker(tmp_path)
    try:
        report = wait_for(
            lambda: (r := _readyz_worker())["status"] == "ok" and r, message=worker.log
        )
    finally:
        assert worker.stop() == 0, worker.log()
    assert report["workers"] == 1 and report["last_heartbeat"]
    assert Client().get("/readyz").status_code == 200
    assert _readyz_worker()["status"] == "absent"


def test_a_killed_worker_turns_stale_and_its_task_is_retried_by_the_next(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "written"
    first = start_worker(tmp_path)
    wait_for(lambda: _readyz_worker()["status"] == "ok", message=first.log)
    first.process.send_signal(signal.SIGKILL)
    first.stop()
    report = wait_for(
        lambda: (r := _readyz_worker())["status"] == "stale" and r, timeout=20, message=first.log
    )
    assert report["workers"] == 0
    # A task the killed worker had claimed: RUNNING under its id, started long ago.
    orphan = enqueue(worker_tasks.write_file, str(marker), "recovered")
    with rls.acting_as_service():
        worker_id = WorkerHeartbeat.objects.get().worker_id
        DBTaskResult.objects.filter(id=orphan.id).update(
            status=TaskResultStatus.RUNNING,
            worker_ids=[worker_id],
            started_at=timezone.now() - timedelta(minutes=5),
        )
    second = start_worker(tmp_path)
    try:
        wait_for(lambda: _row(orphan.id).status == TaskResultStatus.SUCCESSFUL, message=second.log)
    finally:
        second.stop()
    assert marker.read_text() == "recovered"
    assert len(_row(orphan.id).worker_ids) == 2
    lost = [r for r in log_events(second, "task.failed") if r["task_id"] == str(orphan.id)]
    assert lost and lost[0]["exception"] == "worker.WorkerLost" and lost[0]["final"] is False


def test_periodic_tasks_run_when_a_worker_starts_and_the_queue_depth_is_reported(
    tmp_path: Path,
) -> None:
    waiting = [enqueue(worker_tasks.write_file, str(tmp_path / f"f{i}"), "x") for i in range(3)]
    report = _readyz_worker()
    assert report["status"] == "absent" and report["queue_depth"] == 3
    old = enqueue(worker_tasks.write_file, str(tmp_path / "old"), "x")
    worker = start_worker(tmp_path)
    try:
        wait_for(
            lambda: all(_row(t.id).status == "SUCCESSFUL" for t in [*waiting, old]),
            message=worker.log,
        )
        # Pretend the last one finished long ago: the periodic prune removes it next time.
        with rls.acting_as_service():
            DBTaskResult.objects.filter(id=old.id).update(
                finished_at=timezone.now() - timedelta(days=30)
            )
            PeriodicSchedule.objects.filter(name="worker.tasks.prune_task_results").update(
                last_enqueued_at=timezone.now() - timedelta(hours=2)
            )

        def pruned() -> bool:
            with rls.acting_as_service():
                return not DBTaskResult.objects.filter(id=old.id).exists()

        wait_for(pruned, message=worker.log)
        # The periodic tasks enqueued at the start are worked off too.
        wait_for(lambda: _readyz_worker()["queue_depth"] == 0, message=worker.log)
    finally:
        worker.stop()
    prunes = [
        r
        for r in log_events(worker, "task.periodic_enqueued")
        if r["name"] == "worker.tasks.prune_task_results"
    ]
    # At the start, and again once its period had passed unless the first run, late, already
    # found the old task.
    assert 1 <= len(prunes) <= 2
    # Every registered periodic task (the worker's, notifications', files') was enqueued.
    enqueued = {event["name"] for event in log_events(worker, "task.periodic_enqueued")}
    assert enqueued >= {periodic.name for periodic in periodic_tasks()}, enqueued
    with rls.acting_as_service():
        assert DBTaskResult.objects.filter(id=waiting[0].id).exists()  # recent ones stay


def test_the_worker_stops_by_itself_when_its_parent_dies(tmp_path: Path) -> None:
    """``serve --worker`` passes its pid; a parent killed without a word leaves no worker."""
    import subprocess
    import sys

    from tests.worker_support import worker_environment

    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, 'manage.py', 'worker', '--interval', '0.1',"
        " '--no-startup-delay', '--parent-pid', str(__import__('os').getpid())])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=worker_environment(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    wait_for(lambda: _readyz_worker()["status"] == "ok")
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def child_gone() -> bool:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return True
        # A zombie is gone too: its parent died, init reaps it.
        return Path(f"/proc/{child_pid}/status").read_text().find("State:\tZ") >= 0

    wait_for(child_gone, timeout=20)
    assert wait_for(lambda: _readyz_worker()["status"] == "absent")
