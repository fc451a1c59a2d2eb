"""POST /api/chat/messages/{id}/report/ (docs/api.md, "Reports")."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import Report
from tests.contract.conftest import assert_error

pytestmark = pytest.mark.django_db
MESSAGES = "/api/chat/messages"
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"


def _report(client: APIClient, message_id: Any, body: Any = None) -> Any:
    body = {"reason": "spam"} if body is None else body
    return client.post(f"{MESSAGES}/{message_id}/report/", body, format="json")


def test_report_is_201_with_the_report_and_keeps_a_snapshot_with_context(
    bob_api: APIClient, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    before = [post(alice, channel, f"before {n}") for n in range(3)]
    reported = post(alice, channel, "buy cheap watches")
    post(bob, channel, "after 1")
    post(alice, channel, "after 2")
    post(alice, channel, "after 3")
    response = _report(bob_api, reported.pk, {"reason": "spam", "detail": "  same link all day "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "message_id", "reason", "detail", "status", "created_at"}
    assert body["message_id"] == str(reported.pk)
    assert (body["reason"], body["detail"], body["status"]) == ("spam", "same link all day", "open")
    report = Report.objects.get(pk=body["id"])
    assert (report.reporter, report.author, report.channel) == (bob, alice, channel)
    assert report.channel_label == "#general" and report.channel_kind == "channel"
    snapshot = report.snapshot
    assert snapshot["message"]["content"] == "buy cheap watches"
    assert snapshot["message"]["author_username"] == "alice"
    assert [m["content"] for m in snapshot["before"]] == ["before 1", "before 2"]
    assert [m["content"] for m in snapshot["after"]] == ["after 1", "after 2"]
    assert snapshot["before"][0]["id"] == str(before[1].pk)


def test_reporting_again_while_open_is_200_with_the_same_report(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "rude")
    first = _report(bob_api, message.pk).json()
    again = _report(bob_api, message.pk, {"reason": "abuse"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["reason"] == "spam"
    assert Report.objects.filter(message=message).count() == 1


def test_after_a_report_is_closed_the_message_can_be_reported_again(
    bob_api: APIClient, alice: Any, moderator: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "rude")
    first = _report(bob_api, message.pk).json()
    services.report_dismiss(moderator=moderator, report_id=first["id"])
    again = _report(bob_api, message.pk)
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]


def test_a_thread_reply_is_reported_with_its_thread_as_context(
    bob_api: APIClient, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "parent")
    post(alice, channel, "top level, not context")
    first = post(bob, channel, "reply 1", parent_id=parent.pk)
    reply = post(alice, channel, "reply 2", parent_id=parent.pk)
    body = _report(bob_api, reply.pk, {"reason": "harassment"}).json()
    snapshot = Report.objects.get(pk=body["id"]).snapshot
    assert snapshot["parent_id"] == str(parent.pk)
    assert [m["id"] for m in snapshot["before"]] == [str(first.pk)]
    assert snapshot["after"] == []


def test_a_direct_message_is_reported_as_one_with_its_context(
    bob_api: APIClient, alice: Any, bob: Any, post: Any
) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    post(bob, dm, "hi alice")
    message = post(alice, dm, "something nasty")
    body = _report(bob_api, message.pk, {"reason": "harassment", "detail": "again"}).json()
    report = Report.objects.get(pk=body["id"])
    assert (report.channel_kind, report.channel_label) == ("dm", "direct message")
    assert [m["content"] for m in report.snapshot["before"]] == ["hi alice"]


def test_reporting_a_message_one_cannot_read_is_404(
    bob_api: APIClient, alice: Any, private_channel: Any, post: Any, user_factory: Any
) -> None:
    secret = post(alice, private_channel, "secret")
    assert_error(_report(bob_api, secret.pk), 404)
    carol = user_factory.create(username="carol")
    dm, _ = services.dm_open(user=alice, user_ids=[carol.pk])
    assert_error(_report(bob_api, post(alice, dm, "between us").pk), 404)
    assert_error(_report(bob_api, UNKNOWN), 404)
    assert_error(_report(bob_api, "not-a-uuid"), 404)
    assert not Report.objects.exists()


def test_a_moderator_cannot_report_a_direct_message_they_are_not_in(
    moderator_api: APIClient, alice: Any, bob: Any, post: Any
) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    assert_error(_report(moderator_api, post(alice, dm, "private").pk), 404)


def test_reporting_ones_own_or_a_deleted_message_is_400(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    mine = post(alice, channel, "mine")
    assert_error(_report(alice_api, mine.pk), 400, "own_message", "message_id")
    gone = post(alice, channel, "gone")
    services.message_delete(user=alice, message_id=gone.pk)
    assert_error(_report(bob_api, gone.pk), 400, "message_deleted", "message_id")
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "boring"}, "reason"),
        ({"reason": 3}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "other", "detail": "x" * 501}, "detail"),
        ({"reason": "other", "detail": 12}, "detail"),
        ({"reason": "other", "detail": "bell \x07"}, "detail"),
        ({"reason": "other", "detail": ["a"]}, "detail"),
    ],
)
def test_bad_report_bodies_are_400_naming_the_field(
    bob_api: APIClient, alice: Any, channel: Any, post: Any, body: Any, field: str
) -> None:
    message = post(alice, channel, "hi")
    assert_error(_report(bob_api, message.pk, body), 400, field=field)
    assert not Report.objects.exists()


def test_a_body_that_is_not_an_object_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi")
    assert_error(_report(bob_api, message.pk, ["spam"]), 400)
    assert not Report.objects.exists()


def test_reporting_needs_a_sign_in(anon: APIClient, alice: Any, channel: Any, post: Any) -> None:
    message = post(alice, channel, "hi")
    assert _report(anon, message.pk).status_code == 401


def test_reports_are_rate_limited_per_user(
    settings: Any, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    settings.CHAT_REPORT_RATE = "2/hour"
    messages = [post(alice, channel, f"m{n}") for n in range(3)]
    assert _report(bob_api, messages[0].pk).status_code == 201
    assert _report(bob_api, messages[1].pk).status_code == 201
    response = _report(bob_api, messages[2].pk)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert Report.objects.count() == 2
