"""Outgoing webhooks delivered to a real receiver on 127.0.0.1 (tests/webhook_receiver.py):
what fires a hook, the signed payload, the bot's answer, retries with back-off on 5xx and
timeouts, no retry on 4xx or redirects, destinations refused when sending, the per-process
list of hooked channels, and pruning the log (docs/integrations.md, "Outgoing webhooks").

The worker's task runs here in the test process (``Task.call``); tests of the worker process
itself are in test_outgoing_webhooks_live.py."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chat import services as chat_services
from chat.models import Message
from chatsite import rls
from integrations import destinations, dispatch, outgoing, services, tasks
from integrations.models import OutgoingDelivery, OutgoingWebhook
from tests.webhook_receiver import Receiver, self_signed_certificate

pytestmark = pytest.mark.django_db
TASK = "integrations.tasks.deliver_outgoing"


@pytest.fixture(autouse=True)
def _outgoing_settings(settings: Any) -> None:
    settings.CHAT_BOT_MANAGE_RATE = "100000/min"
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    settings.CHAT_OUTGOING_WEBHOOK_REFRESH = 0
    settings.CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS = 3
    settings.CHAT_OUTGOING_WEBHOOK_RETRY_DELAY = 10
    settings.CHAT_OUTGOING_WEBHOOK_TIMEOUT = 2


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _hook(
    alice: Any, channel: Any, receiver: Receiver, path: str = "/ok", words: Any = None
) -> OutgoingWebhook:
    with rls.acting_as_user(alice):
        hook, secret = outgoing.outgoing_hook_create(
            actor=alice,
            channel_id=channel.pk,
            name="Deploys",
            url=receiver.url(path),
            trigger_words=words,
        )
    receiver.secret = secret
    return hook


def _post(user: Any, channel: Any, content: str) -> Message:
    with rls.acting_as_user(user):
        message, _ = chat_services.message_create(user=user, channel_id=channel.pk, content=content)
    return message


def _deliveries(**filters: Any) -> list[OutgoingDelivery]:
    with rls.acting_as_service():
        return list(OutgoingDelivery.objects.filter(**filters).order_by("id"))


def _queued() -> list[DBTaskResult]:
    with rls.acting_as_service():
        return list(DBTaskResult.objects.filter(task_path=TASK).order_by("enqueued_at"))


def _run(delivery: OutgoingDelivery) -> dict[str, Any]:
    with rls.acting_as_service():
        result = tasks.deliver_outgoing.call(delivery.pk)
        delivery.refresh_from_db()
    return result


def test_a_message_is_delivered_signed_and_the_answer_posted_as_the_bot(
    alice: Any, channel: Any, receiver: Receiver
) -> None:
    hook = _hook(alice, channel, receiver)
    receiver.answer = {"text": "Deploying **main**", "username": "Deployer"}
    message = _post(alice, channel, "ship it")
    [delivery] = _deliveries(hook=hook)
    assert (delivery.message_id, delivery.status, delivery.attempts) == (message.pk, "pending", 0)
    assert [row.args_kwargs["args"] for row in _queued()] == [[delivery.pk]]
    assert receiver.count() == 0  # nothing leaves before the worker runs the task

    before = time.time()
    assert _run(delivery) == {"status": "delivered", "http_status": 200, "answered": True}
    got = receiver.next()
    assert got.signature_ok, got.headers
    assert got.headers["content-type"] == "application/json"
    assert before - 1 <= int(got.headers["x-chatsite-timestamp"]) <= time.time() + 1
    body = got.json
    assert body["token"] == receiver.secret
    assert body["timestamp"] == int(got.headers["x-chatsite-timestamp"])
    assert body["trigger_word"] == ""
    assert body["channel"] == {"id": str(channel.pk), "name": "general"}
    assert body["message"]["id"] == str(message.pk)
    assert body["message"]["content"] == "ship it"
    assert body["message"]["author"]["username"] == "alice"
    assert body["hook"] == {"id": str(hook.pk), "name": "Deploys"}
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.finished_at is not None and delivery.last_error == ""

    answer = Message.objects.filter(channel=channel, user=hook.bot).get()
    assert answer.content == "Deploying **main**"
    assert answer.sender_name == "Deployer"
    # The bot's answer fires no hook: no loop.
    assert len(_deliveries(hook=hook)) == 1


def test_a_wrong_secret_does_not_verify(alice: Any, channel: Any, receiver: Receiver) -> None:
    _hook(alice, channel, receiver)
    _post(alice, channel, "hello")
    receiver.secret = "cso_not-the-secret"
    [delivery] = _deliveries()
    _run(delivery)
    assert receiver.next().signature_ok is False


def test_trigger_words_match_the_first_word_only(
    alice: Any, channel: Any, receiver: Receiver
) -> None:
    hook = _hook(alice, channel, receiver, words=["!deploy", "!status"])
    for content in ("hello", "please !deploy", "!deployed now", "!Deploy"):
        _post(alice, channel, content)
    assert _deliveries() == []
    _post(alice, channel, "!status")
    message = _post(alice, channel, "!deploy main to prod")
    deliveries = _deliveries(hook=hook)
    assert [d.trigger_word for d in deliveries] == ["!status", "!deploy"]
    _run(deliveries[1])
    body = receiver.next().json
    assert body["trigger_word"] == "!deploy"
    assert body["message"]["id"] == str(message.pk)


def test_edits_deletes_and_bots_fire_nothing(
    alice: Any, moderator: Any, channel: Any, receiver: Receiver
) -> None:
    _hook(alice, channel, receiver)
    message = _post(alice, channel, "first")
    assert len(_deliveries()) == 1
    with rls.acting_as_user(alice):
        chat_services.message_edit(user=alice, message_id=message.pk, content="edited")
        chat_services.message_delete(user=alice, message_id=message.pk)
    with rls.acting_as_user(alice):
        _, token = services.hook_create(actor=alice, channel_id=channel.pk, name="Alerts")
    services.hook_post(hook=services.hook_find(token), payload={"text": "from a bot"})
    with rls.acting_as_user(moderator):
        bot = services.bot_create(actor=moderator, username="helper-bot")
    _post(bot, channel, "another bot")
    assert len(_deliveries()) == 1


def test_a_revoked_hook_fires_nothing_and_its_pending_deliveries_fail(
    alice: Any, channel: Any, receiver: Receiver
) -> None:
    hook = _hook(alice, channel, receiver)
    _post(alice, channel, "before")
    with rls.acting_as_user(alice):
        outgoing.outgoing_hook_revoke(actor=alice, hook_id=hook.pk)
    _post(alice, channel, "after")
    [delivery] = _deliveries()
    assert _run(delivery) == {"status": "failed"}
    assert delivery.last_error == "The hook was revoked."
    assert receiver.count() == 0
    assert _run(delivery) == {"status": "gone"}  # a finished delivery is never sent again


def test_a_message_deleted_before_its_delivery_is_not_sent(
    alice: Any, channel: Any, receiver: Receiver
) -> None:
    _hook(alice, channel, receiver)
    message = _post(alice, channel, "oops, wrong channel")
    with rls.acting_as_user(alice):
        chat_services.message_delete(user=alice, message_id=message.pk)
    [delivery] = _deliveries()
    assert _run(delivery) == {"status": "failed"}
    assert delivery.last_error == "The message was deleted."
    assert receiver.count() == 0


def test_a_5xx_is_retried_with_back_off_then_failed(
    alice: Any, channel: Any, receiver: Receiver
) -> None:
    _hook(alice, channel, receiver, path="/fail")
    _post(alice, channel, "hello")
    [delivery] = _deliveries()
    for attempt, delay in ((1, 10), (2, 20)):
        started = timezone.now()
        assert _run(delivery) == {"status": "pending", "http_status": 500}
        assert (delivery.attempts, delivery.last_status_code) == (attempt, 500)
        assert delivery.last_error == "HTTP 500" and delivery.finished_at is None
        retry = _queued()[-1]
        assert retry.args_kwargs["args"] == [delivery.pk]
        assert retry.run_after is not None
        waited = (retry.run_after - started).total_seconds()
        assert delay - 1 < waited < delay + 5
    assert _run(delivery) == {"status": "failed", "http_status": 500}
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.finished_at is not None
    assert len(_queued()) == 3  # the first, and two retries: none after the last
    assert [receiver.next().path for _ in range(3)] == ["/fail"] * 3


def test_a_timeout_is_retried(settings: Any, alice: Any, channel: Any, receiver: Receiver) -> None:
    settings.CHAT_OUTGOING_WEBHOOK_TIMEOUT = 0.3
    receiver.slow_seconds = 2
    _hook(alice, channel, receiver, path="/slow")
    started = time.monotonic()
    _post(alice, channel, "hello")
    assert time.monotonic() - started < 1.5  # sending waits for no hook
    [delivery] = _deliveries()
    started = time.monotonic()
    assert _run(delivery) == {"status": "pending", "http_status": None}
    assert time.monotonic() - started < 1.5
    assert delivery.last_error.startswith("Timed out"), delivery.last_error
    assert str(receiver.port) in delivery.last_error or "127.0.0.1" in delivery.last_error
    assert receiver.secret not in delivery.last_error
    assert len(delivery.last_error) <= 200
    assert len(_queued()) == 2


def test_a_refused_connection_is_retried(alice: Any, channel: Any, receiver: Receiver) -> None:
    hook = _hook(alice, channel, receiver)
    receiver.stop()
    _post(alice, channel, "hello")
    [delivery] = _deliveries(hook=hook)
    assert _run(delivery)["status"] == "pending"
    assert delivery.last_error.startswith("Failed: "), delivery.last_error


def test_https_certificates_are_verified(alice: Any, channel: Any, tmp_path: Path) -> None:
    receiver = Receiver().start(tls_files=self_signed_certificate(tmp_path))
    try:
        with rls.acting_as_user(alice):
            outgoing.outgoing_hook_create(
                actor=alice,
                channel_id=channel.pk,
                name="TLS",
                url=f"https://127.0.0.1:{receiver.port}/ok",
            )
        _post(alice, channel, "hello")
        [delivery] = _deliveries()
        assert _run(delivery)["status"] == "pending"
        assert "SSL" in delivery.last_error and "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert receiver.count() == 0  # the handshake failed: no request was made
    finally:
        receiver.stop()


@pytest.mark.parametrize(("path", "status"), [("/gone", 404), ("/moved", 302)])
def test_a_4xx_or_a_redirect_fails_at_once(
    alice: Any, channel: Any, receiver: Receiver, path: str, status: int
) -> None:
    _hook(alice, channel, receiver, path=path)
    _post(alice, channel, "hello")
    [delivery] = _deliveries()
    assert _run(delivery) == {"status": "failed", "http_status": status}
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, status)
    assert len(_queued()) == 1
    assert receiver.next().path == path
    assert receiver.count() == 0  # the redirect was not followed


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"text": ""},
        {"text": 5},
        {"text": "x" * 5000},
        {"other": 1},
        {"text": "hi", "icon_emoji": "nope"},
    ],
)
def test_answers_without_a_usable_text_are_ignored(
    alice: Any, channel: Any, receiver: Receiver, answer: Any
) -> None:
    hook = _hook(alice, channel, receiver)
    receiver.answer = answer
    _post(alice, channel, "hello")
    [delivery] = _deliveries()
    result = _run(delivery)
    assert result == {"status": "delivered", "http_status": 200, "answered": False}
    assert not Message.objects.filter(user=hook.bot).exists()


def test_a_text_answer_is_ignored(alice: Any, channel: Any, receiver: Receiver) -> None:
    hook = _hook(alice, channel, receiver, path="/text")
    _post(alice, channel, "hello")
    [delivery] = _deliveries()
    assert _run(delivery)["answered"] is False
    assert not Message.objects.filter(user=hook.bot).exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/ok",
        "http://intranet.example.com:{port}/ok",
        "http://127.0.0.1:{port}/ok",  # once the operator no longer allows 127.0.0.1
    ],
)
def test_destinations_are_checked_again_when_sending(
    settings: Any,
    alice: Any,
    channel: Any,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    hook = _hook(alice, channel, receiver)
    _post(alice, channel, "hello")
    with rls.acting_as_service():
        OutgoingWebhook.objects.filter(pk=hook.pk).update(url=url.format(port=receiver.port))
    if "127.0.0.1" in url:
        settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = ""

    # The name resolves, now, to a private address (the resolver's answer is the test's).
    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "intranet.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]

    monkeypatch.setattr(destinations.socket, "getaddrinfo", resolve)

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused destination was connected to")

    monkeypatch.setattr(destinations.urllib3.HTTPConnectionPool, "urlopen", no_connection)
    [delivery] = _deliveries()
    assert _run(delivery) == {"status": "failed"}
    assert delivery.last_error.startswith("Refused: "), delivery.last_error
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert receiver.count() == 0
    assert len(_queued()) == 1


def test_the_hooked_channels_are_read_once_per_refresh(
    settings: Any, alice: Any, channel: Any, receiver: Receiver
) -> None:
    settings.CHAT_OUTGOING_WEBHOOK_REFRESH = 3600
    dispatch.forget_hooked_channels()
    _post(alice, channel, "read the list")
    with CaptureQueriesContext(connection) as queries:
        _post(alice, channel, "no hooks here")
    assert not [q for q in queries.captured_queries if "integrations_" in q["sql"]]
    # A hook made in another process is seen at the next refresh (here: in this process, the
    # service forgets the list when its transaction commits; the test's never does).
    hook = _hook(alice, channel, receiver)
    _post(alice, channel, "still the old list")
    assert _deliveries() == []
    dispatch.forget_hooked_channels()
    _post(alice, channel, "the new list")
    assert [d.message.content for d in _deliveries(hook=hook)] == ["the new list"]


def test_old_deliveries_are_pruned(
    settings: Any, alice: Any, channel: Any, receiver: Receiver
) -> None:
    settings.CHAT_OUTGOING_WEBHOOK_LOG_DAYS = 14
    _hook(alice, channel, receiver)
    _post(alice, channel, "old")
    _post(alice, channel, "new")
    old, new = _deliveries()
    with rls.acting_as_service():
        OutgoingDelivery.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(days=15)
        )
        assert tasks.prune_outgoing_deliveries.call() == {"deleted": 1}
    assert [d.pk for d in _deliveries()] == [new.pk]


def test_the_payload_is_the_exact_signed_body(alice: Any, channel: Any, receiver: Receiver) -> None:
    _hook(alice, channel, receiver)
    _post(alice, channel, "ünïcode ✓")
    [delivery] = _deliveries()
    _run(delivery)
    got = receiver.next()
    assert got.signature_ok
    assert json.loads(got.body)["message"]["content"] == "ünïcode ✓"
    assert tasks.signature(receiver.secret, got.body) == got.headers["x-chatsite-signature"]
