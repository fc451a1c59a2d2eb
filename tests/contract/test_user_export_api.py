"""/api/accounts/export/: ask, follow, download your own archive; nobody else's; the rate
limit; the zip's contents (exports/services.py)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from chat import services
from chatsite import rls
from exports import services as export_services
from exports import tasks
from exports.models import UserExport
from files import services as files_services
from files import storage
from tests.contract.conftest import assert_error
from tests.factories import MembershipFactory
from worker.registry import periodic_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_data(alice: Any, bob: Any, channel: Any) -> dict[str, Any]:
    MembershipFactory.create(channel=channel, user=bob)
    upload = files_services.upload_create(
        user=alice, file=SimpleUploadedFile("plan.txt", b"the plan")
    )
    mine, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="my message", attachment_ids=[upload.pk]
    )
    theirs, _ = services.message_create(user=bob, channel_id=channel.pk, content="bob's words")
    services.reaction_add(user=alice, message_id=theirs.pk, emoji="👍")
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    services.message_create(user=alice, channel_id=dm.pk, content="hi bob")
    services.message_create(user=bob, channel_id=dm.pk, content="hi alice")
    return {"upload": upload, "mine": mine, "dm": dm}


def _ready_export(api: APIClient) -> dict[str, Any]:
    response = api.post("/api/accounts/export/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["download_url"] is None
    assert export_services.user_export_build(export_id=body["id"]) == "ready"
    return api.get(f"/api/accounts/export/{body['id']}/").json()


def test_export_is_built_and_downloaded_by_its_user_only(
    alice_api: APIClient, bob_api: APIClient, alices_data: dict[str, Any]
) -> None:
    export = _ready_export(alice_api)
    assert export["status"] == "ready" and export["size"] > 0
    assert export["download_url"] == f"/api/accounts/export/{export['id']}/download"
    assert alice_api.get("/api/accounts/export/").json()["id"] == export["id"]

    response = alice_api.get(export["download_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    upload = alices_data["upload"]
    dm = alices_data["dm"]
    assert {
        "profile.json",
        "notification_settings.json",
        "memberships.jsonl",
        "reactions.jsonl",
        "uploads.jsonl",
        "messages/general.jsonl",
        f"messages/{dm.name}.jsonl",
        f"files/{upload.pk}/plan.txt",
    } <= names
    assert json.loads(archive.read("profile.json"))["username"] == "alice"
    general = [json.loads(line) for line in archive.read("messages/general.jsonl").splitlines()]
    assert [m["content"] for m in general] == ["my message"]  # bob's words are not hers
    direct = archive.read(f"messages/{dm.name}.jsonl").decode()
    assert "hi bob" in direct and "hi alice" not in direct
    assert json.loads(archive.read("reactions.jsonl"))["emoji"] == "👍"
    assert archive.read(f"files/{upload.pk}/plan.txt") == b"the plan"
    memberships = [json.loads(line) for line in archive.read("memberships.jsonl").splitlines()]
    assert {m["channel"] for m in memberships} == {"general", dm.name}
    assert json.loads(archive.read("notification_settings.json")) == {"email_enabled": True}

    # Bob knows the id: still nothing.
    assert_error(bob_api.get(f"/api/accounts/export/{export['id']}/"), 404)
    assert_error(bob_api.get(export["download_url"]), 404)
    assert_error(bob_api.get("/api/accounts/export/"), 404)


def test_one_export_a_day(alice_api: APIClient, alice: Any) -> None:
    assert alice_api.post("/api/accounts/export/").status_code == 202
    response = alice_api.post("/api/accounts/export/")
    assert_error(response, 429, code="rate_limited")
    assert "Retry-After" in response
    assert UserExport.objects.filter(user=alice).count() == 1


@pytest.mark.parametrize("path", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_export_is_404(alice_api: APIClient, path: str) -> None:
    assert_error(alice_api.get(f"/api/accounts/export/{path}/"), 404)
    assert_error(alice_api.get(f"/api/accounts/export/{path}/download/"), 404)


def test_a_pending_export_cannot_be_downloaded(alice_api: APIClient) -> None:
    body = alice_api.post("/api/accounts/export/").json()
    assert_error(alice_api.get(f"/api/accounts/export/{body['id']}/download/"), 404)


def test_anonymous_is_401() -> None:
    client = APIClient()
    assert_error(client.post("/api/accounts/export/"), 401)
    assert_error(client.get("/api/accounts/export/"), 401)


def test_expired_exports_are_removed_with_their_files(
    alice_api: APIClient, alice: Any, alices_data: Any
) -> None:
    export = _ready_export(alice_api)
    row = UserExport.objects.get(pk=export["id"])
    assert storage.backend().exists(row.storage_key)
    with rls.acting_as_service():
        UserExport.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(1))
    assert_error(alice_api.get(export["download_url"]), 404)
    assert tasks.remove_expired_user_exports.call() == 1
    assert not UserExport.objects.filter(pk=row.pk).exists()
    assert not storage.backend().exists(row.storage_key)
    names = {periodic.name for periodic in periodic_tasks()}
    assert "exports.tasks.remove_expired_user_exports" in names


def test_a_failed_build_is_marked_failed(alice_api: APIClient, monkeypatch: Any) -> None:
    body = alice_api.post("/api/accounts/export/").json()

    def broken(**kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_services, "build_archive", broken)
    with pytest.raises(OSError):
        export_services.user_export_build(export_id=body["id"])
    assert alice_api.get("/api/accounts/export/").json()["status"] == "failed"
    # A retry of a finished task does nothing.
    assert export_services.user_export_build(export_id=body["id"]) == "gone"
