"""Attachments over the WebSocket between two live Daphne processes: ``message.send`` with
``attachment_ids``, the files in ``ack`` and ``message.created`` on the other process, and a
bad id answered with an ``error`` event (the event shapes are checked against
docs/asyncapi.yaml by the helpers)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from files import services as files_services
from tests.factories import MembershipFactory
from tests.files_support import image_bytes
from tests.integration.test_ws_live import of_type, open_ws, receive_until, subscribe

pytestmark = pytest.mark.live


def _upload(user: Any, name: str, data: bytes) -> Any:
    return files_services.upload_create(user=user, file=SimpleUploadedFile(name, data))


async def test_files_sent_over_the_socket_reach_the_other_process(
    daphne_servers: list[Any], daphne: Any, alice: Any, bob: Any, channel: Any
) -> None:
    server_a, server_b = daphne_servers
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    image = await database_sync_to_async(_upload)(alice, "chart.png", image_bytes("PNG"))
    text = await database_sync_to_async(_upload)(alice, "notes.txt", b"notes")
    listener = await open_ws(server_b, bob)
    await subscribe(listener, channel)
    sender = await open_ws(server_a, alice)
    client_id = str(uuid.uuid4())
    await sender.send(
        json.dumps(
            {
                "type": "message.send",
                "channel_id": str(channel.pk),
                "content": "",
                "client_id": client_id,
                "attachment_ids": [str(image.pk), str(text.pk)],
            }
        )
    )
    ack, _ = await receive_until(sender, of_type("ack"))
    assert [file["name"] for file in ack["message"]["attachments"]] == ["chart.png", "notes.txt"]
    created, _ = await receive_until(listener, of_type("message.created"))
    assert created["message"]["attachments"] == ack["message"]["attachments"]
    assert created["message"]["attachments"][0]["thumbnail_url"].endswith("/thumbnail")

    # Used already: an error event naming the frame's client_id; nothing is posted.
    again = str(uuid.uuid4())
    await sender.send(
        json.dumps(
            {
                "type": "message.send",
                "channel_id": str(channel.pk),
                "content": "again",
                "client_id": again,
                "attachment_ids": [str(image.pk)],
            }
        )
    )
    error, _ = await receive_until(sender, of_type("error"))
    assert (error["code"], error["ref"]) == ("bad_attachment", again)
    await sender.close()
    await listener.close()
