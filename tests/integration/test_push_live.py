"""Web Push end to end on two processes: a mention posted to a live Daphne, pushed by the live
worker through pywebpush to a push service on 127.0.0.1 that decrypts the payload with the
subscription's own keys and checks the VAPID signature; a 410 from the push service removes
the subscription (docs/operations.md, "Push notifications")."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from chatsite import rls
from notifications import push
from notifications.models import PushSubscription
from tests import live
from tests.factories import ChannelFactory, MembershipFactory
from tests.integration.test_ws_live_conversations import _request
from tests.push_service import BrowserKeys, PushService, Received, vapid_claims
from tests.worker_support import WorkerProcess, start_worker, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
SUBJECT = "mailto:ops@chatsite.test"


@pytest.fixture(scope="module")
def vapid() -> tuple[str, str]:
    return push.generate_keys()


@pytest.fixture(scope="module")
def push_env(vapid: tuple[str, str]) -> dict[str, str]:
    public, private = vapid
    return {
        "VAPID_PUBLIC_KEY": public,
        "VAPID_PRIVATE_KEY": private,
        "VAPID_SUBJECT": SUBJECT,
        "CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS": "1",
        "CHAT_SITE_URL": "https://chat.example.test",
    }


@pytest.fixture(scope="module")
def web(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    push_env: dict[str, str],
) -> Iterator[live.LiveServer]:
    """A Daphne with push configured (it enqueues the pushes when a message mentions)."""
    from django.db import connection

    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        prefix="chatsite-test-push",
        extra=push_env,
    )
    servers = live.start_servers(1, log_dir=tmp_path_factory.mktemp("push-web"), env=env)
    yield servers[0]
    live.stop_servers(servers)


@pytest.fixture
def worker(tmp_path: Path, push_env: dict[str, str], web: live.LiveServer) -> Iterator[Any]:
    process = start_worker(tmp_path, push_env)
    yield process
    process.stop()


@pytest.fixture
def service() -> Iterator[PushService]:
    with PushService() as running:
        yield running


def _subscribe(web: live.LiveServer, user: Any, endpoint: str, keys: BrowserKeys) -> str:
    status, body = _request(
        f"{web.url}/api/notifications/push-subscriptions/",
        user,
        "POST",
        {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}},
    )
    assert status == 201, body
    return str(body["id"])


def _post(web: live.LiveServer, user: Any, channel: Any, content: str) -> dict[str, Any]:
    status, body = _request(
        f"{web.url}/api/chat/messages",
        user,
        "POST",
        {"channel_id": str(channel.pk), "content": content},
    )
    assert status == 201, body
    return dict(body)


def _next(service: PushService, worker: WorkerProcess) -> Received:
    try:
        return service.next(timeout=30)
    except queue.Empty:
        raise AssertionError(f"no push arrived; worker log:\n{worker.log()}") from None


def test_a_mention_is_pushed_encrypted_to_each_device_and_a_gone_one_is_removed(
    web: live.LiveServer,
    worker: WorkerProcess,
    service: PushService,
    vapid: tuple[str, str],
    alice: Any,
    bob: Any,
    channel: Any,
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    phone, old_laptop = BrowserKeys(), BrowserKeys()
    _subscribe(web, bob, service.url("/ok/bob-phone"), phone)
    gone_id = _subscribe(web, bob, service.url("/gone/bob-old-laptop"), old_laptop)
    sent = _post(web, alice, channel, "@bob the **deploy** is done")

    arrivals = {r.path: r for r in (_next(service, worker), _next(service, worker))}
    assert set(arrivals) == {"/ok/bob-phone", "/gone/bob-old-laptop"}
    delivered = arrivals["/ok/bob-phone"]
    assert delivered.headers["content-encoding"] == "aes128gcm"
    assert int(delivered.headers["ttl"]) == settings.CHAT_PUSH_TTL_SECONDS
    payload = phone.decrypt(delivered.body)
    assert payload == {
        "title": "Alice in General",
        "body": "@bob the **deploy** is done",
        "url": f"https://chat.example.test/channels/general/?m={sent['id']}",
        "tag": f"message-{sent['id']}",
        "kind": "user",
    }
    # The other device's payload was encrypted to its own keys, not the phone's.
    assert old_laptop.decrypt(arrivals["/gone/bob-old-laptop"].body) == payload
    with pytest.raises(Exception):  # noqa: B017 - any decryption failure
        phone.decrypt(arrivals["/gone/bob-old-laptop"].body)
    claims = vapid_claims(delivered, vapid[0])
    assert claims["aud"] == f"http://127.0.0.1:{service.port}"
    assert claims["sub"] == SUBJECT and claims["exp"] > time.time()

    def forgotten() -> bool:
        with rls.acting_as_service():
            return not PushSubscription.objects.filter(pk=gone_id).exists()

    wait_for(forgotten, message=worker.log)
    with rls.acting_as_service():
        kept = PushSubscription.objects.get(endpoint=service.url("/ok/bob-phone"))
    assert kept.last_sent_at is not None
    assert service.received.empty()  # alice, the author, has no device and got nothing


def test_a_muted_channel_pushes_nothing_and_a_dm_still_does(
    web: live.LiveServer,
    worker: WorkerProcess,
    service: PushService,
    alice: Any,
    bob: Any,
    channel: Any,
) -> None:
    MembershipFactory.create(channel=channel, user=bob, muted=True)
    keys = BrowserKeys()
    _subscribe(web, bob, service.url("/ok/bob"), keys)
    _post(web, alice, channel, "@bob you will not hear this")
    status, dm = _request(f"{web.url}/api/chat/dms/", alice, "POST", {"user_ids": [str(bob.pk)]})
    assert status == 201, dm
    direct = ChannelFactory._meta.model.objects.get(pk=dm["id"])
    sent = _post(web, alice, direct, "but this one, yes")
    payload = keys.decrypt(_next(service, worker).body)
    # The first push that arrives is the direct message's: the muted mention made none.
    assert payload["tag"] == f"message-{sent['id']}" and payload["kind"] == "dm"
    assert payload["title"] == "Alice" and payload["body"] == "but this one, yes"
    assert service.received.empty()
