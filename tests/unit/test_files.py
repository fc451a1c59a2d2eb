"""The files app without HTTP: sniffing and names, the storage setting, the sweep of uploads
never attached and its command, the room form carrying files without scripts."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat import services
from chat.exceptions import ValidationError
from chat.models import Message
from chatsite.settings import attachment_storage
from files import services as files_services
from files import sniffing, storage
from files.models import Upload
from tests.files_support import image_bytes


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"", "application/octet-stream"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xff\xfe\xfdnot utf-8 at all" * 10, "application/octet-stream"),
        ("caf\u00e9 ".encode() * 3 + "\u00e9".encode()[:1], "text/plain"),
        (b'<?xml version="1.0"?><data/>', "application/xml"),
        (b"  <!DOCTYPE html><p>hi", "text/html"),
        (b"<svg viewBox='0 0 1 1'/>", "image/svg+xml"),
        (b"%PDF-1.7\n", "application/pdf"),
    ],
)
def test_sniff_reads_the_type_from_the_bytes(head: bytes, content_type: str) -> None:
    assert sniffing.sniff(head).content_type == content_type


@pytest.mark.parametrize(
    ("name", "head", "ok"),
    [
        ("photo.jpeg", image_bytes("JPEG"), True),
        ("PHOTO.JPG", image_bytes("JPEG"), True),
        ("script.py", b"print('hi')", True),
        ("no-extension", b"%PDF-1.7", True),
        ("data.csv", b'<?xml version="1.0"?>', True),
        ("page.htm", b"<html></html>", True),
        ("doc.pdf", b"plain words", False),
        ("image.gif", image_bytes("PNG"), False),
        ("binary.txt", b"\x00\x00\x00", False),
    ],
)
def test_a_name_must_not_misdescribe_the_bytes(name: str, head: bytes, ok: bool) -> None:
    problem = sniffing.name_problem(name, sniffing.sniff(head))
    assert (problem is None) is ok, problem


def test_long_names_keep_their_extension() -> None:
    name = sniffing.clean_name("a" * 500 + ".tar.gz")
    assert len(name) == sniffing.MAX_NAME_LENGTH and name.endswith(".gz")


def test_storage_url_forms() -> None:
    assert attachment_storage("")["BACKEND"].endswith("FileSystemStorage")
    local = attachment_storage("file:///srv/chat%20files")
    assert local["OPTIONS"]["location"] == "/srv/chat files"
    s3 = attachment_storage("s3://key:s%2Fecret@bucket?endpoint_url=http://minio:9000")
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["secret_key"] == "s/ecret"
    assert s3["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert "access_key" not in attachment_storage("s3://bucket")["OPTIONS"]
    for bad in ("ftp://host/x", "s3://"):
        with pytest.raises(ImproperlyConfigured):
            attachment_storage(bad)


def _upload(user: Any, name: str = "a.txt", data: bytes = b"data") -> Upload:
    return files_services.upload_create(user=user, file=SimpleUploadedFile(name, data))


@pytest.mark.django_db
def test_the_sweep_removes_only_old_uploads_never_attached(alice: Any, channel: Any) -> None:
    old = _upload(alice, "old.png", image_bytes("PNG"))
    recent = _upload(alice)
    attached_old = _upload(alice)
    services.message_create(
        user=alice, channel_id=channel.pk, content="kept", attachment_ids=[attached_old.pk]
    )
    day_ago = timezone.now() - timedelta(hours=25)
    Upload.objects.filter(pk__in=[old.pk, attached_old.pk]).update(created_at=day_ago)
    backend = storage.backend()
    assert backend.exists(old.storage_key) and backend.exists(old.thumbnail_key)

    out = io.StringIO()
    call_command("remove_stale_uploads", stdout=out)
    assert "Removed 1 upload" in out.getvalue()
    assert set(Upload.objects.values_list("pk", flat=True)) == {recent.pk, attached_old.pk}
    assert not backend.exists(old.storage_key) and not backend.exists(old.thumbnail_key)
    assert backend.exists(attached_old.storage_key)
    call_command("remove_stale_uploads", "--hours", "0", stdout=out)
    assert set(Upload.objects.values_list("pk", flat=True)) == {attached_old.pk}


@pytest.mark.django_db
def test_a_message_without_text_needs_files(alice: Any, channel: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        services.message_create(user=alice, channel_id=channel.pk, content="")
    assert "content" in refused.value.fields
    upload = _upload(alice)
    message, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="", attachment_ids=[upload.pk]
    )
    assert message.content == "" and message.attachments[0]["id"] == str(upload.pk)


@pytest.mark.django_db
def test_the_room_form_without_scripts_posts_files_with_the_message(
    alice: Any, channel: Any
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(
        "/channels/general/",
        {
            "content": "from the form",
            "files": [
                SimpleUploadedFile("one.png", image_bytes("PNG")),
                SimpleUploadedFile("two.txt", b"two"),
            ],
        },
    )
    assert response.status_code == 302, response.content
    message = Message.objects.get(content="from the form")
    assert [file["name"] for file in message.attachments] == ["one.png", "two.txt"]
    page = client.get("/channels/general/").content.decode()
    assert 'class="attachment attachment-image"' in page and "two.txt" in page
    # A bad file is shown on the form, and no message goes.
    refused = client.post(
        "/channels/general/",
        {"content": "bad", "files": [SimpleUploadedFile("x.pdf", b"<html>")]},
    )
    assert refused.status_code == 400
    assert "bytes are text/html" in refused.content.decode()
    assert not Message.objects.filter(content="bad").exists()


@pytest.mark.django_db
def test_the_room_form_refuses_a_file_over_the_limit(
    alice: Any, channel: Any, settings: Any
) -> None:
    settings.CHAT_UPLOAD_MAX_BYTES = 100
    client = Client()
    client.force_login(alice)
    response = client.post(
        "/channels/general/",
        {"content": "big", "files": [SimpleUploadedFile("big.bin", b"x" * 200_000)]},
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.content.decode()
    assert not Upload.objects.exists() and not Message.objects.filter(content="big").exists()
