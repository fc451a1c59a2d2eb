"""Outgoing webhooks end to end (docs/integrations.md, "Outgoing webhooks"): a message posted
on one live Daphne, the live worker process POSTing it, signed,
to a receiver on 127.0.0.1, and the hook bot's answer arriving on a socket of the other
Daphne; a failing target retried by the worker and then failed, without slowing the post.

Hooks are made in the test process, as test_ws_live_integrations.py makes incoming ones: the
session's servers keep content type ids (for the audit log) that a test's flush renumbers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chatsite import rls
from integrations import outgoing
from integrations.models import OutgoingDelivery
from tests import live
from tests.integration.test_ws_live import open_ws, receive_until, subscribe
from tests.integration.test_ws_live_conversations import call
from tests.webhook_receiver import Receiver
from tests.worker_support import WorkerProcess, start_worker, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _outgoing_settings(settings: Any) -> None:
    # The servers and the worker get the same from tests/live.py.
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    settings.CHAT_BOT_MANAGE_RATE = "100000/min"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(answer={"text": "pong from the hook"}).start()
    yield server
    server.stop()


@pytest.fixture
def worker(tmp_path: Path, daphne: live.LiveServer) -> Iterator[WorkerProcess]:
    process = start_worker(
        tmp_path,
        {
            "CHAT_OUTGOING_WEBHOOK_RETRY_DELAY": "0.2",
            "CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS": "3",
            "CHAT_OUTGOING_WEBHOOK_TIMEOUT": "2",
        },
    )
    yield process
    process.stop()


def _make_hook(alice: Any, channel: Any, url: str, words: Any = None) -> tuple[Any, str]:
    with rls.acting_as_user(alice):
        return outgoing.outgoing_hook_create(
            actor=alice, channel_id=channel.pk, name="Pinger", url=url, trigger_words=words
        )


def _delivery(message_id: Any, hook_id: Any) -> OutgoingDelivery | None:
    with rls.acting_as_service():
        return OutgoingDelivery.objects.filter(message_id=message_id, hook_id=hook_id).first()


def _finished(message_id: Any, hook_id: Any) -> OutgoingDelivery | None:
    delivery = _delivery(message_id, hook_id)
    return delivery if delivery is not None and delivery.status != "pending" else None


async def test_a_message_on_one_server_is_delivered_and_answered_on_the_other(
    daphne_servers: list[Any],
    daphne: Any,
    worker: WorkerProcess,
    receiver: Receiver,
    alice: Any,
    channel: Any,
) -> None:
    server_a, server_b = daphne_servers
    hook, receiver.secret = await database_sync_to_async(_make_hook)(
        alice, channel, receiver.url("/ok"), ["!ping"]
    )
    status, refused = await call(
        server_a,
        alice,
        "POST",
        "/api/webhooks/outgoing/",
        {"channel_id": str(channel.pk), "name": "Meta", "url": "http://169.254.169.254/"},
    )
    assert status == 400 and "url" in refused["error"]["fields"]

    listener = await open_ws(server_b, alice)
    await subscribe(listener, channel)
    status, quiet = await call(
        server_a,
        alice,
        "POST",
        "/api/chat/messages",
        {"channel_id": str(channel.pk), "content": "no trigger"},
    )
    assert status == 201
    status, message = await call(
        server_a,
        alice,
        "POST",
        "/api/chat/messages",
        {"channel_id": str(channel.pk), "content": "!ping db-1"},
    )
    assert status == 201, message

    got = await asyncio.to_thread(receiver.next, 30)
    assert got.signature_ok, got.headers
    assert got.json["message"]["id"] == message["id"]
    assert got.json["trigger_word"] == "!ping"
    answered, _ = await receive_until(
        listener,
        lambda event: (
            event["type"] == "message.created"
            and event["message"]["author"]["id"] == str(hook.bot_id)
        ),
        timeout=30,
    )
    assert answered["message"]["content"] == "pong from the hook"
    assert answered["message"]["author"]["is_bot"] is True
    await listener.close()

    delivery = await database_sync_to_async(_finished)(message["id"], str(hook.pk))
    assert delivery is not None and delivery.status == "delivered"
    assert await database_sync_to_async(_delivery)(quiet["id"], str(hook.pk)) is None
    assert receiver.count() == 0  # one delivery: neither the quiet message nor the answer


async def test_a_failing_target_is_retried_by_the_worker_then_failed(
    daphne_servers: list[Any],
    daphne: Any,
    worker: WorkerProcess,
    receiver: Receiver,
    alice: Any,
    channel: Any,
) -> None:
    server_a, _ = daphne_servers
    hooks = {}
    for path in ("/fail", "/gone"):
        hook, _ = await database_sync_to_async(_make_hook)(alice, channel, receiver.url(path))
        hooks[path] = str(hook.pk)
    started = time.monotonic()
    status, message = await call(
        server_a,
        alice,
        "POST",
        "/api/chat/messages",
        {"channel_id": str(channel.pk), "content": "hello"},
    )
    assert status == 201, message
    assert time.monotonic() - started < 5  # the post waits for no target

    failed = await asyncio.to_thread(
        wait_for,
        lambda: _finished(message["id"], hooks["/fail"]),
        timeout=40,
        message=worker.log,
    )
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 3, 500)
    gone = await asyncio.to_thread(
        wait_for, lambda: _finished(message["id"], hooks["/gone"]), timeout=40, message=worker.log
    )
    assert (gone.status, gone.attempts, gone.last_status_code) == ("failed", 1, 404)
    paths = sorted(receiver.next().path for _ in range(4))
    assert paths == ["/fail", "/fail", "/fail", "/gone"]
    assert receiver.count() == 0
