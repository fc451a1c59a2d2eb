"""Email notifications end to end: messages posted to a live Daphne, mailed by the live worker
to a real SMTP server (aiosmtpd) on 127.0.0.1; the links of the email followed
(docs/operations.md, "Email notifications")."""

from __future__ import annotations

import asyncio
import email
import email.policy
import queue
import re
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chatsite import rls
from notifications.models import Mention, NotificationPreference
from tests import live
from tests.e2e.conftest import session_backend
from tests.factories import ChannelFactory, MembershipFactory, UserFactory
from tests.integration.test_ws_live import open_ws
from tests.integration.test_ws_live_conversations import _request
from tests.worker_support import WorkerProcess, start_worker, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
# Long enough for a test to post everything it needs before the first mention is due.
DELAY = 6.0


class Mailbox:
    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.put(message)
        return "250 Message accepted for delivery"

    def next(self, worker: WorkerProcess, timeout: float = 40) -> EmailMessage:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no email arrived; worker log:\n{worker.log()}") from None


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), live.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def worker(
    tmp_path: Path, mailbox: tuple[Mailbox, int], daphne: live.LiveServer
) -> Iterator[WorkerProcess]:
    process = start_worker(
        tmp_path,
        {
            "EMAIL_URL": f"smtp://127.0.0.1:{mailbox[1]}",
            "CHAT_EMAIL_NOTIFY_DELAY": str(DELAY),
            "CHAT_EMAIL_NOTIFY_INTERVAL": "0.5",
            "CHAT_SITE_URL": daphne.url,
        },
    )
    yield process
    process.stop()


def _post(server: live.LiveServer, user: Any, channel: Any, content: str) -> dict[str, Any]:
    status, body = _request(
        f"{server.url}/api/chat/messages",
        user,
        "POST",
        {"channel_id": str(channel.pk), "content": content},
    )
    assert status == 201, body
    return dict(body)


def _considered(user: Any, message_id: str) -> bool:
    """The worker looked at the user's mention of this message (mailed it or not)."""
    with rls.acting_as_service():
        mention = Mention.objects.filter(user=user, message_id=message_id).first()
        preference = NotificationPreference.objects.filter(user=user).first()
    return bool(mention and preference and preference.email_checked_through >= mention.pk)


def _email_runs_since(moment: datetime) -> int:
    with rls.acting_as_service():
        return DBTaskResult.objects.filter(
            task_path="notifications.tasks.send_email_notifications",
            status="SUCCESSFUL",
            started_at__gt=moment,
        ).count()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _get(url: str, cookie: str = "", method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_what_waits_unread_while_offline_is_one_email_with_a_link_to_each_message(
    daphne: live.LiveServer,
    worker: WorkerProcess,
    mailbox: tuple[Mailbox, int],
    alice: Any,
    bob: Any,
    channel: Any,
) -> None:
    box = mailbox[0]
    carol = UserFactory.create(username="carol", email="carol@example.test")
    random = ChannelFactory.create(name="random", created_by=alice)
    noisy = ChannelFactory.create(name="noisy", created_by=alice)
    for room in (channel, random, noisy):
        MembershipFactory.create(channel=room, user=bob, muted=room is noisy)
        MembershipFactory.create(channel=room, user=carol)
    MembershipFactory.create(channel=random, user=alice)
    MembershipFactory.create(channel=noisy, user=alice)

    status, dm = _request(f"{daphne.url}/api/chat/dms/", alice, "POST", {"user_ids": [str(bob.pk)]})
    direct = ChannelFactory._meta.model.objects.get(pk=dm["id"])
    first = _post(daphne, alice, channel, "@bob can you review the release notes?")
    second = _post(daphne, alice, channel, "@bob and the changelog too")
    deleted = _post(daphne, alice, channel, "@bob never mind this one")
    assert _request(f"{daphne.url}/api/chat/messages/{deleted['id']}", alice, "DELETE")[0] == 204
    read = _post(daphne, alice, random, "@bob you will read this in time")
    status, _ = _request(
        f"{daphne.url}/api/chat/channels/{random.pk}/read/", bob, "POST", {"seq": read["seq"]}
    )
    assert status in (200, 204)
    muted = _post(daphne, alice, noisy, "@bob in a channel you muted")
    in_dm = _post(daphne, alice, direct, "lunch at noon?")
    for_carol = _post(daphne, alice, channel, "@carol are you there?")
    carol.is_active = False
    carol.save(update_fields=["is_active"])

    mail = box.next(worker)
    assert mail["To"] == bob.email
    assert mail["Subject"] == "[chatsite] 3 messages are waiting for you"
    text = _text(mail)
    links = re.findall(r"Open: (\S+)", text)
    assert links == [
        f"{daphne.url}/channels/general/?m={first['id']}",
        f"{daphne.url}/channels/general/?m={second['id']}",
        f"{daphne.url}/channels/{direct.name}/?m={in_dm['id']}",
    ]
    for absent in (deleted, read, muted):
        assert absent["id"] not in text and absent["id"] not in str(mail)
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and f"?m={first['id']}" in str(html.get_content())
    unsubscribe = re.search(r"Unsubscribe: (\S+)", text)
    assert unsubscribe is not None
    assert mail["List-Unsubscribe"].strip() == f"<{unsubscribe.group(1)}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # carol was deactivated: her mention is passed over, never mailed.
    wait_for(lambda: _considered(carol, for_carol["id"]), message=worker.log)
    assert box.messages.empty()

    # The link opens the message, for bob signed in.
    client = Client()
    client.force_login(bob, backend=session_backend())
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    status, page = _get(links[0], cookie)
    assert status == 200
    assert "can you review the release notes?" in page and first["id"] in page
    assert "room-jump.js" in page  # the page opens scrolled to it, highlighted


def _preference_of(user: Any) -> NotificationPreference | None:
    with rls.acting_as_service():
        return NotificationPreference.objects.filter(user=user).first()


def test_the_unsubscribe_link_turns_the_emails_off_in_one_click(
    daphne: live.LiveServer,
    worker: WorkerProcess,
    mailbox: tuple[Mailbox, int],
    alice: Any,
    bob: Any,
    channel: Any,
) -> None:
    box = mailbox[0]
    MembershipFactory.create(channel=channel, user=bob)
    _post(daphne, alice, channel, "@bob first call")
    mail = box.next(worker)
    assert mail["Subject"] == "[chatsite] Alice mentioned you in General"
    link = mail["List-Unsubscribe"].strip().strip("<>")
    # The task records the email (its preference row) after handing it to the SMTP server.
    wait_for(lambda: _preference_of(bob) is not None, message=worker.log)
    status, page = _get(link)  # opening the link changes nothing yet
    assert status == 200 and "<button" in page
    with rls.acting_as_service():
        assert NotificationPreference.objects.get(user=bob).email_enabled is True
    status, page = _get(link, method="POST")  # the button, or the mail client's one click
    assert status == 200 and "no more notification emails" in page
    with rls.acting_as_service():
        assert NotificationPreference.objects.get(user=bob).email_enabled is False
    assert _get(link.replace("/unsubscribe/", "/unsubscribe/x"))[0] == 404

    later = _post(daphne, alice, channel, "@bob second call")
    wait_for(lambda: _considered(bob, later["id"]), message=worker.log)
    assert box.messages.empty()


async def test_no_email_while_the_user_is_online_and_one_after_they_leave(
    daphne: live.LiveServer,
    worker: WorkerProcess,
    mailbox: tuple[Mailbox, int],
    alice: Any,
    bob: Any,
    channel: Any,
) -> None:
    box = mailbox[0]
    await asyncio.to_thread(MembershipFactory.create, channel=channel, user=bob)
    ws = await open_ws(daphne, bob)
    sent = await asyncio.to_thread(_post, daphne, alice, channel, "@bob are you around?")
    # Two runs of the email task after the mention was due, with bob online: nothing sent.
    due = timezone.now() + timedelta(seconds=DELAY)
    await asyncio.to_thread(wait_for, lambda: _email_runs_since(due) >= 2, message=worker.log)
    assert box.messages.empty()
    await ws.close()
    mail = await asyncio.to_thread(box.next, worker)
    assert sent["id"] in _text(mail)
