"""The report queue in the Django admin, driven with Django's test client, with its live
effects on real WebSocket clients (the ASGI stack on the real Redis channel layer).

Transactional database: the admin's changes commit, so their events leave through
``transaction.on_commit`` as in production.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.admin.models import LogEntry

from chat import services
from chat.models import Message, MessageRevision, Report
from chatsite import rls
from tests.factories import MembershipFactory, UserFactory
from tests.integration.test_admin_moderation import (
    audit_trail,
    close_code,
    next_event,
    open_socket,
    run_action,
    signed_in,
)

pytestmark = pytest.mark.django_db(transaction=True)

REPORTS_URL = "/admin/chat/report/"


def _report(user: Any, message: Any, reason: str = "spam", detail: str = "") -> Report:
    with rls.acting_as_user(user):
        report, _ = services.report_create(
            user=user, message_id=message.pk, reason=reason, detail=detail
        )
    return report


def _dm_with_report(alice: Any, bob: Any, post: Any) -> tuple[Any, Message, Report]:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    post(alice, dm, "see you")
    message = post(bob, dm, "you will regret this")
    return dm, message, _report(alice, message, "harassment", "threatening me")


def test_a_member_cannot_open_the_queue(alice: Any) -> None:
    response = signed_in(alice).get(REPORTS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_queue_lists_open_reports_first_then_newest(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    oldest = _report(alice, post(bob, channel, "first offence"))
    closed = _report(alice, post(bob, channel, "closed one"))
    newest = _report(alice, post(bob, channel, "latest offence"))
    services.report_dismiss(moderator=moderator, report_id=closed.pk)

    response = signed_in(moderator).get(REPORTS_URL)

    assert response.status_code == 200
    shown = [report.pk for report in response.context["cl"].result_list]
    assert shown == [newest.pk, oldest.pk, closed.pk]
    assert b"latest offence" in response.content
    open_only = signed_in(moderator).get(REPORTS_URL, {"status": "no"})
    assert [r.pk for r in open_only.context["cl"].result_list] == [newest.pk, oldest.pk]


def test_a_direct_message_report_is_in_the_queue_with_its_context(
    moderator: Any, alice: Any, bob: Any, post: Any
) -> None:
    _dm, message, report = _dm_with_report(alice, bob, post)
    client = signed_in(moderator)

    queue = client.get(REPORTS_URL, {"channel_kind__exact": "dm"})
    assert [r.pk for r in queue.context["cl"].result_list] == [report.pk]
    assert b"direct message" in queue.content

    detail = client.get(f"{REPORTS_URL}{report.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    for text in ("you will regret this", "see you", "threatening me", "Reported", "Harassment"):
        assert text in page
    # Still nothing else of the direct message for moderators.
    assert client.get(f"/admin/chat/message/{message.pk}/change/").status_code == 302
    assert b"you will regret this" not in client.get("/admin/chat/message/").content


async def test_tombstone_from_a_dm_report_reaches_its_members_and_closes_every_report_of_it(
    moderator: Any, alice: Any, bob: Any, post: Any
) -> None:
    dm, message, report = await database_sync_to_async(_dm_with_report)(alice, bob, post)
    second = await database_sync_to_async(_report)(alice, message, "abuse")
    assert second.pk == report.pk  # alice's report is open: the same one
    socket = await open_socket(alice)
    try:
        client = await sync_to_async(signed_in)(moderator)
        response = await sync_to_async(run_action)(
            client, REPORTS_URL, "tombstone_selected", report
        )
        assert response.status_code == 302
        event = await next_event(socket, "message.deleted")
    finally:
        await socket.disconnect()
    assert event["id"] == str(message.pk)
    assert event["channel_id"] == str(dm.pk)
    await database_sync_to_async(_check_tombstoned)(moderator)


def _check_tombstoned(moderator: Any) -> None:
    report = Report.objects.get()
    assert report.resolution == Report.Resolution.TOMBSTONED
    assert report.resolved_by == moderator and report.resolved_at is not None
    message = Message.objects.get(pk=report.message_id)
    assert message.is_deleted and message.content == ""
    # A moderator's tombstone: the text is kept for a restore.
    kept = MessageRevision.objects.get(message=message)
    assert (kept.kind, kept.content) == ("tombstone", "you will regret this")
    assert audit_trail(message) == [
        (
            "mod",
            f"Tombstoned message 2 by bob in a direct message (change seq {message.change_seq}).",
        )
    ]
    assert audit_trail(report) == [
        (
            "mod",
            "Closed the report of message 2 by bob in a direct message from alice (harassment): "
            f"tombstoned the message (change seq {message.change_seq}).",
        )
    ]


def test_tombstone_closes_the_other_open_reports_of_the_message(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    carol = UserFactory.create(username="carol")
    message = post(bob, channel, "rude")
    by_alice = _report(alice, message)
    by_carol = _report(carol, message, "abuse")
    other = _report(alice, post(bob, channel, "another"))

    response = run_action(signed_in(moderator), REPORTS_URL, "tombstone_selected", by_alice)

    assert response.status_code == 302
    resolutions = dict(Report.objects.values_list("pk", "resolution"))
    assert resolutions == {by_alice.pk: "tombstoned", by_carol.pk: "tombstoned", other.pk: None}
    assert len(audit_trail(by_carol)) == 1


def test_dismiss_closes_the_report_and_leaves_the_message(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(bob, channel, "harmless joke")
    report = _report(alice, message, "other")

    response = run_action(signed_in(moderator), REPORTS_URL, "dismiss_selected", report)

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.resolution, report.resolved_by) == ("dismissed", moderator)
    message.refresh_from_db()
    assert not message.is_deleted
    assert audit_trail(report) == [
        ("mod", "Closed the report of message 1 by bob in #general from alice (other): dismissed.")
    ]
    # A closed report takes no more actions.
    again = run_action(signed_in(moderator), REPORTS_URL, "tombstone_selected", report)
    assert again.status_code == 302
    message.refresh_from_db()
    assert not message.is_deleted


async def test_deactivate_author_closes_their_sockets_and_their_reports(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    def reports() -> list[Report]:
        return [
            _report(alice, post(bob, channel, "spam one")),
            _report(alice, post(bob, channel, "spam two")),
            _report(bob, post(alice, channel, "alice's")),
        ]

    made = await database_sync_to_async(reports)()
    socket = await open_socket(bob)
    client = await sync_to_async(signed_in)(moderator)
    response = await sync_to_async(run_action)(
        client, REPORTS_URL, "deactivate_authors_selected", made[0]
    )
    assert response.status_code == 302
    assert await close_code(socket) == 4403
    await database_sync_to_async(_check_deactivated)(bob, made)


def _check_deactivated(bob: Any, made: list[Report]) -> None:
    first, second, of_alice = made
    bob.refresh_from_db()
    assert not bob.is_active
    resolutions = dict(Report.objects.values_list("pk", "resolution"))
    assert resolutions == {
        first.pk: "author_deactivated",
        second.pk: "author_deactivated",
        of_alice.pk: None,
    }
    assert audit_trail(bob)[0][1].startswith("Deactivated bob: signed out everywhere")
    assert "deactivated bob" in audit_trail(first)[0][1]


def test_a_moderator_cannot_deactivate_a_moderator_through_a_report(
    moderator: Any, alice: Any, channel: Any, post: Any
) -> None:
    other = UserFactory.create(username="mod2", role="moderator")
    report = _report(alice, post(other, channel, "a moderator's words"))

    response = run_action(signed_in(moderator), REPORTS_URL, "deactivate_authors_selected", report)

    assert response.status_code == 302
    other.refresh_from_db()
    report.refresh_from_db()
    assert other.is_active and report.is_open
    assert not LogEntry.objects.filter(object_id=str(report.pk)).exists()


def test_a_member_cannot_run_a_report_action(alice: Any, bob: Any, channel: Any, post: Any) -> None:
    report = _report(alice, post(bob, channel, "rude"))
    response = run_action(signed_in(bob), REPORTS_URL, "dismiss_selected", report)
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.is_open


def test_reports_are_read_only_in_the_admin(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    report = _report(alice, post(bob, channel, "rude"))
    client = signed_in(moderator)
    response = client.post(f"{REPORTS_URL}{report.pk}/change/", {"reason": "other"})
    assert response.status_code == 403
    assert client.get(f"{REPORTS_URL}add/").status_code == 403
    assert client.post(f"{REPORTS_URL}{report.pk}/delete/", {"post": "yes"}).status_code == 403
    report.refresh_from_db()
    assert report.reason == "spam"


def test_a_reports_page_has_its_actions_as_buttons_while_open(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    report = _report(alice, post(bob, channel, "rude"))
    client = signed_in(moderator)
    page = client.get(f"{REPORTS_URL}{report.pk}/change/").content.decode()
    for label in ("Tombstone the message", "Deactivate the author", "Dismiss the report"):
        assert label in page
    # The button posts the queue's action for this one report.
    response = client.post(
        REPORTS_URL, {"action": "dismiss_selected", "_selected_action": [str(report.pk)]}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.resolution == "dismissed"
    closed = client.get(f"{REPORTS_URL}{report.pk}/change/").content.decode()
    assert "Dismiss the report" not in closed
