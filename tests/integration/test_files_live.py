"""Attachments on live servers: nginx (Debian's) in front of Daphne serving downloads through
X-Accel-Redirect, and the memory of a Daphne process while a 25 MB file uploads."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests import live
from tests.conftest import _TEST_PREFIX
from tests.factories import ChannelFactory, MembershipFactory
from tests.files_support import image_bytes
from tests.integration.ws_support import access_token
from tests.topology import Nginx

pytestmark = pytest.mark.live
ACCEL_PREFIX = "/protected-files/"


@pytest.fixture(scope="module")
def accel_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One Daphne that answers downloads with X-Accel-Redirect, and nginx in front of it."""
    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        prefix=_TEST_PREFIX,
        extra={"CHAT_UPLOAD_ACCEL_PREFIX": ACCEL_PREFIX, "CHAT_UPLOAD_RATE": "1000/min"},
    )
    (server,) = live.start_servers(
        1, log_dir=tmp_path_factory.mktemp("daphne-files"), env=env, proxy_headers=True
    )
    root = Path(settings.STORAGES["attachments"]["OPTIONS"]["location"])
    root.mkdir(parents=True, exist_ok=True)
    nginx = Nginx([server.port], body_limit="30m", accel_root=root)
    nginx.start()
    yield server, nginx
    nginx.stop()
    live.stop_servers([server])


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def _request(
    url: str, user: Any, *, data: bytes | None = None, content_type: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    request.add_header("Authorization", f"Bearer {access_token(user)}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _upload(base: str, user: Any, name: str, data: bytes) -> tuple[int, Any]:
    import json

    body, content_type = _multipart(name, data)
    status, _, raw = _request(
        f"{base}/api/chat/uploads/", user, data=body, content_type=content_type
    )
    return status, json.loads(raw)


def _attach(base: str, user: Any, channel: Any, upload_id: str) -> int:
    import json

    payload = {"channel_id": str(channel.pk), "content": "file", "attachment_ids": [upload_id]}
    status, _, _ = _request(
        f"{base}/api/chat/messages",
        user,
        data=json.dumps(payload).encode(),
        content_type="application/json",
    )
    return status


def test_nginx_serves_permitted_downloads_through_x_accel_redirect(
    accel_server: Any, transactional_db: None, alice: Any, bob: Any
) -> None:
    server, nginx = accel_server
    channel = ChannelFactory.create(name="pictures", is_private=True, created_by=alice)
    MembershipFactory.create(channel=channel, user=alice, role="owner")
    data = image_bytes("PNG", size=(300, 200))
    status, body = _upload(nginx.url, alice, "shot.png", data)
    assert status == 201, body
    assert _attach(nginx.url, alice, channel, body["id"]) == 201

    # Daphne answers with the header and no body; nginx sends the bytes in its place.
    status, headers, raw = _request(server.url + body["url"], alice)
    assert status == 200 and raw == b""
    assert headers["X-Accel-Redirect"].startswith(ACCEL_PREFIX)
    status, headers, raw = _request(nginx.url + body["url"], alice)
    assert status == 200
    assert raw == data
    assert "X-Accel-Redirect" not in headers
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == 'inline; filename="shot.png"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, raw = _request(nginx.url + body["thumbnail_url"], alice)
    assert (status, headers["Content-Type"]) == (200, "image/webp")
    assert raw[:4] == b"RIFF"

    # Not a member: 404 from the app, whatever the URL; the internal location is not public.
    status, _, raw = _request(nginx.url + body["url"], bob)
    assert status == 404 and data not in raw
    status, _, _ = _request(nginx.url + headers.get("X-Accel-Redirect", ACCEL_PREFIX + "x"), bob)
    key_url = nginx.url + ACCEL_PREFIX + _stored_key(body["id"])
    status, _, raw = _request(key_url, bob)
    assert status == 404 and raw != data


def test_nginx_refuses_a_body_past_its_limit_before_the_app(
    accel_server: Any, transactional_db: None, alice: Any
) -> None:
    _, nginx = accel_server
    status, _ = _upload_status(nginx.url, alice, b"\x00" * (31 * 1024 * 1024))
    assert status == 413


def _upload_status(base: str, user: Any, data: bytes) -> tuple[int, bytes]:
    body, content_type = _multipart("big.bin", data)
    status, _, raw = _request(
        f"{base}/api/chat/uploads/", user, data=body, content_type=content_type
    )
    return status, raw


def _stored_key(upload_id: str) -> str:
    from chatsite import rls
    from files.models import Upload

    with rls.acting_as_service():
        return Upload.objects.get(pk=upload_id).storage_key


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _reset_peak(pid: int) -> None:
    # Linux: writing 5 to clear_refs resets the peak resident set size to the current one.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_growth_during_upload(server: Any, user: Any, size: int) -> int:
    data = os.urandom(size)
    time.sleep(0.5)
    pid = server.process.pid
    _reset_peak(pid)
    start = _peak_rss_kib(pid)
    status, raw = _upload_status(server.url, user, data)
    assert status == 201, raw
    return _peak_rss_kib(pid) - start


def test_a_25_mb_upload_keeps_the_servers_memory_flat(
    accel_server: Any, transactional_db: None, alice: Any
) -> None:
    server, _ = accel_server
    # Warm up: the first upload loads code and fills caches.
    _peak_growth_during_upload(server, alice, 1024 * 1024)
    small = _peak_growth_during_upload(server, alice, 1024 * 1024)
    large = _peak_growth_during_upload(server, alice, 25 * 1024 * 1024)
    print(f"peak RSS growth of Daphne: 1 MB upload {small} KiB, 25 MB upload {large} KiB")
    # Twisted keeps the body in a temporary file and the application's queue reads it from
    # there a chunk at a time (chatsite/ws_server.py, BodyQueue); Django spools what it reads
    # to disk past FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) and the upload handler writes the file
    # in chunks. One whole copy of the body in memory would show as 25 MB here; what is
    # allowed is the spooled part (2.5 MB) and the allocator's own growth, which reached 4.1 MB
    # on a machine busy with other work.
    assert large - small < 8 * 1024, (small, large)
