"""POST /api/chat/uploads/, attachments on messages, and downloads (docs/api.md,
"Attachments")."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from PIL import Image
from rest_framework.test import APIClient

from chat import services
from files.models import Upload
from tests.contract.conftest import assert_error
from tests.factories import MembershipFactory
from tests.files_support import CAMERA, FORMATS, image_bytes, png_bomb, upload

pytestmark = pytest.mark.django_db
MESSAGES = "/api/chat/messages"
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"


def _stored_files() -> list[Path]:
    root = Path(settings.STORAGES["attachments"]["OPTIONS"]["location"])
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _bytes_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_image_upload_is_201_with_a_thumbnail_without_its_metadata(
    alice_api: APIClient, fmt: str
) -> None:
    data = image_bytes(fmt)
    if fmt != "GIF":
        assert CAMERA.encode() in data  # the original carries the camera's name
    response = upload(alice_api, f"photo.{FORMATS[fmt]}", data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "name", "size", "content_type", "url", "thumbnail_url", "width", "height"
    }  # fmt: skip
    assert body["name"] == f"photo.{FORMATS[fmt]}"
    assert body["size"] == len(data)
    assert body["content_type"] == f"image/{'jpeg' if fmt == 'JPEG' else fmt.lower()}"
    assert (body["width"], body["height"]) == (64, 48)
    assert body["url"] == f"/api/chat/uploads/{body['id']}/content"
    original = alice_api.get(body["url"])
    assert original.status_code == 200
    assert _bytes_of(original) == data
    assert original["Content-Type"] == body["content_type"]
    assert original["Content-Disposition"].startswith("inline")
    assert original["X-Content-Type-Options"] == "nosniff"
    thumbnail = alice_api.get(body["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/webp"
    preview = _bytes_of(thumbnail)
    assert CAMERA.encode() not in preview
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "WEBP"
        assert image.size == (64, 48)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info


def test_a_text_file_downloads_as_an_attachment_without_a_thumbnail(alice_api: APIClient) -> None:
    body = upload(alice_api, "build.log", b"line one\nline two\n").json()
    assert body["content_type"] == "text/plain"
    assert body["thumbnail_url"] is None and body["width"] is None
    response = alice_api.get(body["url"])
    assert response["Content-Disposition"] == 'attachment; filename="build.log"'
    assert alice_api.get(f"/api/chat/uploads/{body['id']}/thumbnail").status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("page.html", b"<!doctype html><html><script>alert(1)</script></html>", "text/html"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
        ("notes", b"<html><body onload=alert(1)>", "text/html"),
    ],
)
def test_markup_a_browser_could_run_only_ever_downloads(
    alice_api: APIClient, name: str, data: bytes, content_type: str
) -> None:
    body = upload(alice_api, name, data).json()
    assert body["content_type"] == content_type
    assert body["thumbnail_url"] is None
    response = alice_api.get(body["url"])
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("holiday.png", b"%PDF-1.7\n" + b"x" * 100),
        ("report.pdf", b"<!doctype html><html></html>"),
        ("photo.jpg", image_bytes("PNG")),
        ("notes.txt", image_bytes("GIF")),
    ],
)
def test_a_name_that_misdescribes_its_bytes_is_400_and_nothing_is_stored(
    alice_api: APIClient, name: str, data: bytes
) -> None:
    before = _stored_files()
    error = assert_error(upload(alice_api, name, data), 400, "type_mismatch", "file")
    assert f".{name.rsplit('.', 1)[1]}" in error["detail"]
    assert Upload.objects.count() == 0
    assert _stored_files() == before


def test_an_image_that_cannot_be_read_is_400(alice_api: APIClient) -> None:
    broken = image_bytes("PNG")[:40]
    assert_error(upload(alice_api, "cut.png", broken), 400, "bad_image", "file")
    assert Upload.objects.count() == 0


def test_a_decompression_bomb_is_400_and_nothing_is_stored(alice_api: APIClient) -> None:
    before = _stored_files()
    bomb = png_bomb()
    assert len(bomb) < 100_000  # small on the wire, 400 million pixels unpacked
    error = assert_error(upload(alice_api, "bomb.png", bomb), 400, "image_too_large", "file")
    assert "pixels" in error["detail"]
    assert Upload.objects.count() == 0
    assert _stored_files() == before


def test_an_image_past_the_pixel_limit_is_400(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_UPLOAD_MAX_PIXELS = 2000  # the 64x48 image has 3072
    assert_error(upload(alice_api, "big.png", image_bytes("PNG")), 400, "image_too_large", "file")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/abs/path/.bashrc", "bashrc"),
        ("evil\u202egnp.txt", "evilgnp.txt"),
        ("tab\tand\x00nul.txt", "tabandnul.txt"),
        ("...", "file"),
    ],
)
def test_path_tricks_in_names_are_cleaned(alice_api: APIClient, raw: str, clean: str) -> None:
    response = upload(alice_api, raw, b"plain text")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == clean
    stored = Upload.objects.get()
    assert clean not in stored.storage_key and ".." not in stored.storage_key
    root = Path(settings.STORAGES["attachments"]["OPTIONS"]["location"]).resolve()
    assert all(root in path.resolve().parents for path in _stored_files())


def test_over_the_size_limit_by_content_length_is_413_before_reading(
    alice_api: APIClient, settings: Any
) -> None:
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    before = _stored_files()
    error = assert_error(upload(alice_api, "big.bin", b"x" * 200_000), 413, "too_large", "file")
    assert "1000" in error["detail"]
    assert Upload.objects.count() == 0
    assert _stored_files() == before


def test_over_the_size_limit_while_streaming_is_413(alice_api: APIClient, settings: Any) -> None:
    # Within Content-Length's allowance for the framing, so only the streaming cap sees it.
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    before = _stored_files()
    assert_error(upload(alice_api, "big.bin", b"x" * 1500), 413, "too_large")
    assert Upload.objects.count() == 0
    assert _stored_files() == before


def test_exactly_the_size_limit_is_accepted(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    assert upload(alice_api, "edge.bin", b"\x00" * 1000).status_code == 201


@pytest.mark.parametrize(
    ("body", "fmt", "status"),
    [
        ({}, "multipart", 400),
        ({"file": "not a file"}, "multipart", 400),
        ({"file": "x"}, "json", 415),
    ],
)
def test_a_request_without_a_file_is_refused(
    alice_api: APIClient, body: Any, fmt: str, status: int
) -> None:
    response = alice_api.post("/api/chat/uploads/", body, format=fmt)
    assert_error(response, status, field="file" if status == 400 else None)


def test_an_empty_file_is_400(alice_api: APIClient) -> None:
    assert_error(upload(alice_api, "empty.txt", b""), 400, field="file")


def test_uploading_needs_a_signed_in_user(anon: APIClient) -> None:
    assert_error(upload(anon, "a.txt", b"hi"), 401)


def test_uploads_are_rate_limited(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_UPLOAD_RATE = "2/min"
    assert upload(alice_api, "1.txt", b"1").status_code == 201
    assert upload(alice_api, "2.txt", b"2").status_code == 201
    response = upload(alice_api, "3.txt", b"3")
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


def _attach(client: APIClient, channel: Any, ids: list[str], content: str = "look") -> Any:
    return client.post(
        MESSAGES,
        {"channel_id": str(channel.pk), "content": content, "attachment_ids": ids},
        format="json",
    )


def test_a_message_carries_its_attachments_in_order(alice_api: APIClient, channel: Any) -> None:
    first = upload(alice_api, "a.png", image_bytes("PNG")).json()
    second = upload(alice_api, "b.txt", b"text").json()
    response = _attach(alice_api, channel, [second["id"], first["id"]])
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["attachments"] == [second, first]
    listed = alice_api.get(MESSAGES, {"channel_id": str(channel.pk)}).json()["results"]
    assert listed[-1]["attachments"] == [second, first]
    assert Upload.objects.filter(message_id=message["id"]).count() == 2


def test_a_message_of_files_alone_may_have_no_text(alice_api: APIClient, channel: Any) -> None:
    body = upload(alice_api, "a.png", image_bytes("PNG")).json()
    response = _attach(alice_api, channel, [body["id"]], content="")
    assert response.status_code == 201, response.content
    assert response.json()["content"] == "" and response.json()["rendered"] == ""
    no_files = _attach(alice_api, channel, [], content="")
    assert_error(no_files, 400, field="content")


def test_someone_elses_upload_cannot_be_attached(
    alice_api: APIClient, bob_api: APIClient, channel: Any
) -> None:
    body = upload(alice_api, "mine.txt", b"mine").json()
    error = assert_error(_attach(bob_api, channel, [body["id"]]), 400, "bad_attachment")
    assert body["id"] in error["fields"]["attachment_ids"][0]
    assert not Upload.objects.filter(message__isnull=False).exists()
    channel.refresh_from_db()
    assert channel.last_seq == 0  # no message, no seq taken


def test_an_upload_already_used_cannot_be_attached_again(
    alice_api: APIClient, channel: Any
) -> None:
    body = upload(alice_api, "once.txt", b"once").json()
    assert _attach(alice_api, channel, [body["id"]]).status_code == 201
    assert_error(_attach(alice_api, channel, [body["id"]]), 400, "bad_attachment")


@pytest.mark.parametrize(
    "ids",
    [
        [UNKNOWN],
        ["not-a-uuid"],
        [1],
        "5f0c7d3e-0000-4000-8000-00000000beef",
        [UNKNOWN] * 2,
        [str(i) for i in range(11)],
    ],
)
def test_bad_attachment_ids_are_400_naming_the_field(
    alice_api: APIClient, channel: Any, ids: Any
) -> None:
    error = assert_error(_attach(alice_api, channel, ids), 400)
    assert all(field.startswith("attachment_ids") for field in error["fields"]), error


def test_eleven_uploads_are_too_many(alice_api: APIClient, channel: Any) -> None:
    ids = [upload(alice_api, f"{i}.txt", b"x").json()["id"] for i in range(11)]
    assert_error(_attach(alice_api, channel, ids), 400, field="attachment_ids")
    assert _attach(alice_api, channel, ids[:10]).status_code == 201


def test_a_repeated_client_id_returns_the_original_with_its_files(
    alice_api: APIClient, channel: Any
) -> None:
    body = upload(alice_api, "a.txt", b"a").json()
    payload = {
        "channel_id": str(channel.pk),
        "content": "once",
        "attachment_ids": [body["id"]],
        "client_id": "9b2f7f3e-1111-4000-8000-000000000001",
    }
    first = alice_api.post(MESSAGES, payload, format="json")
    again = alice_api.post(MESSAGES, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["attachments"] == first.json()["attachments"]


def test_only_readers_of_the_message_may_download(
    api_for: Any, alice: Any, bob: Any, user_factory: Any, private_channel: Any
) -> None:
    alice_api = api_for(alice)
    body = upload(alice_api, "secret.png", image_bytes("PNG")).json()
    # Before it is attached, the upload is its uploader's alone.
    assert api_for(bob).get(body["url"]).status_code == 404
    assert _attach(alice_api, private_channel, [body["id"]]).status_code == 201
    assert alice_api.get(body["url"]).status_code == 200
    for url in (body["url"], body["thumbnail_url"]):
        assert_error(api_for(bob).get(url), 404, "not_found")
    MembershipFactory.create(channel=private_channel, user=bob)
    assert api_for(bob).get(body["url"]).status_code == 200
    assert api_for(bob).get(body["thumbnail_url"]).status_code == 200


def test_a_guessed_or_malformed_download_url_is_404(alice_api: APIClient, anon: APIClient) -> None:
    assert_error(alice_api.get(f"/api/chat/uploads/{UNKNOWN}/content"), 404)
    assert_error(alice_api.get("/api/chat/uploads/../../etc/passwd/content"), 404)
    assert_error(alice_api.get("/api/chat/uploads/not-a-uuid/content"), 404)
    body = upload(alice_api, "a.txt", b"a").json()
    assert_error(anon.get(body["url"]), 401)


def test_a_tombstoned_messages_files_are_unreachable(
    alice_api: APIClient, bob_api: APIClient, alice: Any, moderator: Any, channel: Any
) -> None:
    body = upload(alice_api, "gone.png", image_bytes("PNG")).json()
    message = _attach(alice_api, channel, [body["id"]]).json()
    assert bob_api.get(body["url"]).status_code == 200
    services.message_delete(user=moderator, message_id=message["id"])
    for client in (alice_api, bob_api):
        assert client.get(body["url"]).status_code == 404
        assert client.get(body["thumbnail_url"]).status_code == 404
    fetched = alice_api.get(MESSAGES, {"channel_id": str(channel.pk), "since_seq": "0"}).json()
    assert fetched["results"][-1]["deleted"] is True
    assert fetched["results"][-1]["attachments"] == []


def test_an_upload_can_be_withdrawn_before_it_is_attached(
    alice_api: APIClient, bob_api: APIClient, channel: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _stored_files()
    body = upload(alice_api, "oops.txt", b"oops").json()
    assert len(_stored_files()) == len(before) + 1
    assert_error(bob_api.delete(f"/api/chat/uploads/{body['id']}/"), 404)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/chat/uploads/{body['id']}/").status_code == 204
    assert not Upload.objects.exists()
    assert _stored_files() == before
    used = upload(alice_api, "kept.txt", b"kept").json()
    assert _attach(alice_api, channel, [used["id"]]).status_code == 201
    assert_error(alice_api.delete(f"/api/chat/uploads/{used['id']}/"), 404)


def test_downloads_are_rate_limited(alice_api: APIClient, settings: Any) -> None:
    body = upload(alice_api, "a.txt", b"a").json()
    settings.CHAT_DOWNLOAD_RATE = "1/min"
    assert alice_api.get(body["url"]).status_code == 200
    assert_error(alice_api.get(body["url"]), 429, "rate_limited")


def test_the_api_index_names_uploads(anon: APIClient) -> None:
    assert anon.get("/api/", HTTP_ACCEPT="application/json").json()["uploads"] == (
        "/api/chat/uploads/"
    )
