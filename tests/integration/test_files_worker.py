"""The worker removes uploads that no message took (files/tasks.py, registered as a periodic
task in files/apps.py), as a real ``manage.py worker`` process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from chatsite import rls
from files import services as files_services
from files import storage, tasks
from files.models import Upload
from tests.worker_support import start_worker, wait_for
from worker.registry import periodic_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sweep_is_a_periodic_task_of_the_worker() -> None:
    names = {periodic.name: periodic for periodic in periodic_tasks()}
    assert names["files.tasks.remove_stale_uploads"].every == timedelta(hours=1)


@pytest.mark.live
def test_a_worker_removes_stale_uploads_and_their_bytes(tmp_path: Path, alice: Any) -> None:
    stale = files_services.upload_create(user=alice, file=SimpleUploadedFile("old.txt", b"old"))
    fresh = files_services.upload_create(user=alice, file=SimpleUploadedFile("new.txt", b"new"))
    with rls.acting_as_service():
        Upload.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert storage.backend().exists(stale.storage_key)
    worker = start_worker(tmp_path)
    try:

        def swept() -> bool:
            with rls.acting_as_service():
                return not Upload.objects.filter(pk=stale.pk).exists()

        wait_for(swept, message=worker.log)
    finally:
        worker.stop()
    assert not storage.backend().exists(stale.storage_key)
    with rls.acting_as_service():
        assert Upload.objects.filter(pk=fresh.pk).exists()
    assert tasks.remove_stale_uploads.call() == 0
