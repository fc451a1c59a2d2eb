"""Attachments in an S3-compatible bucket (STORAGE_URL), against moto's server mode started
as a real process on 127.0.0.1: uploads stream into the bucket, downloads redirect the
permitted to a short-lived presigned URL, and the sweep removes objects never attached."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages
from rest_framework.test import APIClient

from chatsite.settings import attachment_storage
from files import services as files_services
from files.models import Upload
from tests.contract.conftest import bearer
from tests.files_support import image_bytes, upload
from tests.topology import MotoS3

pytestmark = pytest.mark.django_db
BUCKET = "chatsite-attachments"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto: MotoS3, settings: Any) -> Iterator[Any]:
    client = boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.CHAT_UPLOAD_RATE = "1000/min"
    settings.CHAT_DOWNLOAD_RATE = "1000/min"
    settings.STORAGES = {
        **django_settings.STORAGES,
        "attachments": attachment_storage(
            f"s3://testing:testing@{BUCKET}?endpoint_url={moto.endpoint}&region_name=us-east-1"
        ),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


def _keys(client: Any) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_storage_url_configures_the_s3_backend(bucket: Any) -> None:
    backend: Any = storages["attachments"]
    assert type(backend).__name__ == "S3Storage"
    assert backend.bucket_name == BUCKET
    assert backend.querystring_expire == django_settings.CHAT_UPLOAD_URL_SECONDS


def test_an_upload_goes_to_the_bucket_and_downloads_through_a_presigned_url(
    bucket: Any, alice: Any, bob: Any, private_channel: Any
) -> None:
    data = image_bytes("JPEG")
    body = upload(_client(alice), "camera.jpg", data).json()
    stored = Upload.objects.get(pk=body["id"])
    assert _keys(bucket) == {stored.storage_key, stored.thumbnail_key}
    assert bucket.get_object(Bucket=BUCKET, Key=stored.storage_key)["Body"].read() == data
    response = _client(alice).post(
        "/api/chat/messages",
        {"channel_id": str(private_channel.pk), "content": "pic", "attachment_ids": [body["id"]]},
        format="json",
    )
    assert response.status_code == 201, response.content

    redirect = _client(alice).get(body["url"])
    assert redirect.status_code == 302
    location = redirect["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == [str(django_settings.CHAT_UPLOAD_URL_SECONDS)]
    with urllib.request.urlopen(location, timeout=10) as fetched:  # noqa: S310 (the test's own server)
        assert fetched.read() == data
        assert fetched.headers["Content-Type"] == "image/jpeg"
        assert fetched.headers["Content-Disposition"].startswith("inline")
    thumbnail = _client(alice).get(body["thumbnail_url"])
    assert thumbnail.status_code == 302
    with urllib.request.urlopen(thumbnail["Location"], timeout=10) as fetched:  # noqa: S310
        assert fetched.headers["Content-Type"] == "image/webp"
    # Someone who cannot read the message gets no URL at all.
    assert _client(bob).get(body["url"]).status_code == 404


def test_a_presigned_url_for_markup_downloads_it_as_bytes(bucket: Any, alice: Any) -> None:
    body = upload(_client(alice), "page.html", b"<html><script>alert(1)</script></html>").json()
    location = _client(alice).get(body["url"])["Location"]
    with urllib.request.urlopen(location, timeout=10) as fetched:  # noqa: S310
        assert fetched.headers["Content-Type"] == "application/octet-stream"
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="page.html"'


def test_a_tampered_presigned_url_is_refused_by_the_bucket(bucket: Any, alice: Any) -> None:
    body = upload(_client(alice), "a.txt", b"secret").json()
    location = _client(alice).get(body["url"])["Location"]
    key = Upload.objects.get(pk=body["id"]).storage_key
    other = key[:-1] + ("1" if key.endswith("0") else "0")  # another object's key, not this one
    tampered = location.replace(key, other)
    assert tampered != location
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)  # noqa: S310
    assert refused.value.code in (403, 404)


def test_a_refused_upload_leaves_nothing_in_the_bucket(bucket: Any, alice: Any) -> None:
    assert upload(_client(alice), "x.png", b"%PDF-1.4 not a png").status_code == 400
    assert _keys(bucket) == set()


def test_the_sweep_removes_stale_uploads_from_the_bucket(
    bucket: Any, alice: Any, channel: Any
) -> None:
    stale = upload(_client(alice), "old.png", image_bytes("PNG")).json()
    kept = upload(_client(alice), "kept.txt", b"kept").json()
    _client(alice).post(
        "/api/chat/messages",
        {"channel_id": str(channel.pk), "content": "k", "attachment_ids": [kept["id"]]},
        format="json",
    )
    assert files_services.uploads_remove_stale(older_than=timedelta(0)) == 1
    assert list(Upload.objects.values_list("pk", flat=True)) == [Upload.objects.get().pk]
    assert str(Upload.objects.get().pk) == kept["id"]
    assert _keys(bucket) == {Upload.objects.get().storage_key}
    assert not Upload.objects.filter(pk=stale["id"]).exists()
