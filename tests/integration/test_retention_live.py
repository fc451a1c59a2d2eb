"""Retention through a real ``manage.py worker`` process, then a client resuming over a real
WebSocket (a live Daphne) from a seq older than what retention kept (docs/api.md, "History
deleted by retention")."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from chat import services
from chat.models import Channel, Message
from chat.services import retention
from chatsite import rls
from files import services as files_services
from files import storage
from tests.asyncapi import problems
from tests.integration.ws_support import access_token
from tests.worker_support import start_worker, wait_for
from worker.registry import periodic_tasks

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10.0


def test_retention_is_a_periodic_task_of_the_worker() -> None:
    names = {periodic.name: periodic for periodic in periodic_tasks()}
    assert names["chat.tasks.apply_retention"].every == timedelta(hours=1)


def _setup(alice: Any, channel: Any) -> tuple[list[Any], Any, Any]:
    upload = files_services.upload_create(user=alice, file=SimpleUploadedFile("o.txt", b"old"))
    old = [
        services.message_create(user=alice, channel_id=channel.pk, content=f"old {n}")[0]
        for n in range(4)
    ]
    with_file, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="old file", attachment_ids=[upload.pk]
    )
    old.append(with_file)
    kept, _ = services.message_create(user=alice, channel_id=channel.pk, content="recent")
    with rls.acting_as_service():
        Message.objects.filter(pk__in=[m.pk for m in old]).update(
            created_at=timezone.now() - timedelta(days=3)
        )
    return old, kept, upload


async def _resume(server: Any, user: Any, channel: Any, since_seq: int) -> list[dict[str, Any]]:
    protocols = [Subprotocol("chat.v1"), Subprotocol(f"bearer.{access_token(user)}")]
    events: list[dict[str, Any]] = []
    async with connect(server.ws_url, subprotocols=protocols, open_timeout=TIMEOUT) as ws:
        frame = {"type": "subscribe", "channel_id": str(channel.pk), "since_seq": since_seq}
        await ws.send(json.dumps(frame))
        async with asyncio.timeout(TIMEOUT):
            while not events or events[-1]["type"] != "subscribed":
                event = json.loads(await ws.recv())
                if event["type"] not in ("welcome", "presence"):
                    events.append(event)
    return events


@pytest.mark.live
async def test_worker_purges_old_history_and_a_resuming_client_is_told(
    tmp_path: Path, daphne: Any, alice: Any, channel: Any
) -> None:
    old, kept, upload = await database_sync_to_async(_setup)(alice, channel)
    assert storage.backend().exists(upload.storage_key)
    worker = start_worker(tmp_path, {"CHAT_RETENTION_DAYS": "2", "CHAT_RETENTION_BATCH": "2"})
    try:

        def purged() -> bool:
            with rls.acting_as_service():
                return Channel.objects.get(pk=channel.pk).trimmed_seq == old[-1].seq

        await database_sync_to_async(wait_for)(purged, message=worker.log)
    finally:
        worker.stop()

    def remaining() -> tuple[list[Any], list[str]]:
        with rls.acting_as_service():
            messages = list(Message.objects.filter(channel=channel).values_list("pk", flat=True))
            audit = list(
                LogEntry.objects.filter(object_id=str(channel.pk)).values_list(
                    "change_message", flat=True
                )
            )
        return messages, audit

    messages, audit = await database_sync_to_async(remaining)()
    assert messages == [kept.pk]
    assert len(audit) == 1 and "deleted 5 messages, 0 reactions and 1 files" in audit[0]
    assert not storage.backend().exists(upload.storage_key)

    # A client that saw up to seq 2 resumes: the kept message replays, then `subscribed`
    # says history up to seq 5 was deleted: no error, no silent gap.
    events = await _resume(daphne, alice, channel, since_seq=2)
    assert [(e["type"], e.get("seq")) for e in events] == [
        ("message.created", kept.seq),
        ("subscribed", None),
    ]
    subscribed = events[-1]
    assert subscribed["trimmed_seq"] == old[-1].seq
    assert subscribed["last_seq"] == kept.seq
    assert all(problems(event) == [] for event in events)

    # A client already past the trimmed history is not told again.
    events = await _resume(daphne, alice, channel, since_seq=kept.seq - 1)
    assert "trimmed_seq" not in events[-1]
    assert not await database_sync_to_async(retention.retention_apply)()
