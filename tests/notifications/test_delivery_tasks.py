"""The email and push tasks run in this process (the live tests run them in the worker):
who gets what, and what is left out (docs/operations.md, "Email notifications", "Push
notifications")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chat import services
from chat.models import Membership
from chatsite import rls
from notifications import delivery, emails, push, tasks
from notifications.models import Mention, NotificationPreference, PushSubscription
from tests.factories import MembershipFactory
from tests.push_service import BrowserKeys, PushService

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CHAT_EMAIL_NOTIFY_DELAY = 60
    settings.CHAT_SITE_URL = "https://chat.example.test"


@pytest.fixture
def bob_in(bob: Any, channel: Any) -> Membership:
    return MembershipFactory.create(channel=channel, user=bob)


def _age(*messages: Any, minutes: int = 5) -> None:
    """Make the mentions of these messages as old as a delay ago and more."""
    with rls.acting_as_service():
        Mention.objects.filter(message__in=messages).update(
            created_at=timezone.now() - timedelta(minutes=minutes)
        )


def _run_email() -> dict[str, int]:
    with rls.acting_as_service():
        return tasks.send_email_notifications.call()


def test_one_email_lists_every_unread_mention_and_none_comes_in_the_same_window(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any
) -> None:
    first = post(alice, channel, "@bob one")
    second = post(alice, channel, "@bob two")
    _age(first)
    assert _run_email() == {"emails": 1}
    [sent] = mail.outbox
    assert sent.subject == "[chatsite] 2 messages are waiting for you"
    assert f"https://chat.example.test/channels/general/?m={first.pk}" in sent.body
    assert f"?m={second.pk}" in sent.body
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    third = post(alice, channel, "@bob three")
    _age(third)
    assert _run_email() == {"emails": 0}  # within the window after the last email
    with rls.acting_as_service():
        NotificationPreference.objects.filter(user=bob).update(
            email_last_sent_at=timezone.now() - timedelta(hours=1)
        )
    assert _run_email() == {"emails": 1}
    assert mail.outbox[1].subject == "[chatsite] Alice mentioned you in General"


def test_a_mention_not_yet_due_waits(alice: Any, channel: Any, bob_in: Any, post: Any) -> None:
    post(alice, channel, "@bob just now")
    assert _run_email() == {"emails": 0}
    assert mail.outbox == []


def test_no_email_for_read_deleted_muted_or_opted_out(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any
) -> None:
    read = post(alice, channel, "@bob read")
    services.channel_mark_read(user=bob, channel_id=channel.pk, seq=read.seq)
    deleted = post(alice, channel, "@bob gone")
    _age(read, deleted)
    services.message_delete(user=alice, message_id=deleted.pk)
    assert _run_email() == {"emails": 0}
    muted = post(alice, channel, "@bob muted")
    Membership.objects.filter(pk=bob_in.pk).update(muted=True)
    _age(muted)
    assert _run_email() == {"emails": 0}
    Membership.objects.filter(pk=bob_in.pk).update(muted=False)
    with rls.acting_as_service():
        NotificationPreference.objects.filter(user=bob).update(email_enabled=False)
    _age(post(alice, channel, "@bob opted out"))
    assert _run_email() == {"emails": 0}
    assert mail.outbox == []


def test_no_email_to_an_unverified_address_when_verification_is_required(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any, settings: Any
) -> None:
    settings.CHAT_REQUIRE_EMAIL_VERIFICATION = True
    _age(post(alice, channel, "@bob unverified"))
    assert _run_email() == {"emails": 0}
    EmailAddress.objects.create(user=bob, email=bob.email, verified=True, primary=True)
    _age(post(alice, channel, "@bob verified now"))
    assert _run_email() == {"emails": 1}
    assert "verified now" in mail.outbox[0].body and "unverified" not in mail.outbox[0].body


def test_a_direct_message_email_is_from_its_author(alice: Any, bob: Any, post: Any) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    _age(post(alice, dm, "lunch?"))
    assert _run_email() == {"emails": 1}
    assert mail.outbox[0].subject == "[chatsite] New message from Alice"
    assert f"/channels/{dm.name}/?m=" in mail.outbox[0].body


def test_the_unsubscribe_token_names_its_user_and_nobody_forges_one(bob: Any) -> None:
    token = delivery.unsubscribe_token(bob)
    assert delivery.unsubscribe_user(token) == bob
    assert delivery.unsubscribe_user(token + "x") is None
    assert emails.unsubscribe_url(bob).endswith(f"/notifications/unsubscribe/{token}/")


def test_push_goes_to_each_device_and_a_gone_one_is_forgotten(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any, settings: Any
) -> None:
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = push.generate_keys()
    settings.CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS = True
    keys = BrowserKeys()
    with PushService() as service:
        with rls.acting_as_service():
            PushSubscription.objects.create(
                user=bob, endpoint=service.url("/ok/1"), p256dh=keys.p256dh, auth=keys.auth
            )
            gone = PushSubscription.objects.create(
                user=bob, endpoint=service.url("/gone/2"), p256dh=keys.p256dh, auth=keys.auth
            )
        message = post(alice, channel, "@bob pushed")
        with rls.acting_as_service():
            queued = DBTaskResult.objects.filter(task_path="notifications.tasks.send_push")
            assert queued.count() == 1
            mention = Mention.objects.get(message=message)
            assert tasks.send_push.call(mention.pk) == {"sent": 1, "gone": 1}
            assert not PushSubscription.objects.filter(pk=gone.pk).exists()
        payload = keys.decrypt(service.next().body)
        assert payload["url"] == f"https://chat.example.test/channels/general/?m={message.pk}"


def test_a_push_service_error_fails_the_task_so_it_is_retried(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any, settings: Any
) -> None:
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = push.generate_keys()
    settings.CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS = True
    keys = BrowserKeys()
    with PushService() as service:
        with rls.acting_as_service():
            PushSubscription.objects.create(
                user=bob, endpoint=service.url("/fail/1"), p256dh=keys.p256dh, auth=keys.auth
            )
        message = post(alice, channel, "@bob fails")
        with rls.acting_as_service():
            mention = Mention.objects.get(message=message)
            with pytest.raises(Exception, match="500"):
                tasks.send_push.call(mention.pk)
            assert PushSubscription.objects.filter(user=bob).count() == 1


def test_no_push_is_queued_without_keys_or_devices(
    alice: Any, bob: Any, channel: Any, bob_in: Any, post: Any, settings: Any
) -> None:
    post(alice, channel, "@bob no keys")
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = push.generate_keys()
    message = post(alice, channel, "@bob no devices")
    with rls.acting_as_service():
        assert not DBTaskResult.objects.filter(task_path="notifications.tasks.send_push").exists()
        mention = Mention.objects.get(message=message)
        services.message_delete(user=alice, message_id=message.pk)
        assert tasks.send_push.call(mention.pk) == {"sent": 0, "gone": 0}


def test_generate_vapid_keys_prints_a_pair_that_signs(capsys: Any) -> None:
    call_command("generate_vapid_keys")
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if "=" in line)
    assert push.is_public_key(lines["VAPID_PUBLIC_KEY"])
    assert len(push.b64url_decode(lines["VAPID_PRIVATE_KEY"])) == 32
    assert lines["VAPID_SUBJECT"].startswith("mailto:")
