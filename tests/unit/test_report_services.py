"""Report services: filing a report, and the moderators' answers to it (docs/moderation.md,
"Reports")."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry

from accounts import services as account_services
from chat import services
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Report
from chat.services.reports import check_detail, check_reason
from chatsite import rls

pytestmark = pytest.mark.django_db


def _report(user: Any, message: Any, reason: str = "spam") -> Report:
    with rls.acting_as_user(user):
        report, _ = services.report_create(user=user, message_id=message.pk, reason=reason)
    return report


@pytest.mark.parametrize(
    ("given", "kept"),
    [(None, ""), ("", ""), ("  spaced\n ", "spaced"), ("a\u202eb", "ab"), ("x" * 500, "x" * 500)],
)
def test_detail_is_trimmed_and_cleaned(given: Any, kept: str) -> None:
    assert check_detail(given) == kept


def test_the_snapshot_reads_as_the_reporter_and_leaves_out_tombstones(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    kept = post(alice, channel, "kept")
    gone = post(alice, channel, "gone")
    services.message_delete(user=alice, message_id=gone.pk)
    reported = post(alice, channel, "reported")
    snapshot = _report(bob, reported).snapshot
    assert [m["id"] for m in snapshot["before"]] == [str(kept.pk)]
    assert snapshot["message"]["author_display_name"] == "Alice"
    assert snapshot["parent_id"] is None


def test_only_moderators_answer_reports(alice: Any, bob: Any, channel: Any, post: Any) -> None:
    report = _report(bob, post(alice, channel, "rude"))
    for answer in (
        services.report_dismiss,
        services.report_tombstone_message,
        services.report_deactivate_author,
    ):
        with pytest.raises(PermissionDenied):
            answer(moderator=bob, report_id=report.pk)
    report.refresh_from_db()
    assert report.is_open


@pytest.mark.parametrize("report_id", ["nope", uuid.uuid4()])
def test_an_unknown_report_is_not_found(moderator: Any, report_id: Any) -> None:
    with pytest.raises(NotFound):
        services.report_dismiss(moderator=moderator, report_id=report_id)


def test_a_closed_report_takes_no_second_answer(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    report = _report(bob, post(alice, channel, "rude"))
    services.report_dismiss(moderator=moderator, report_id=report.pk)
    with pytest.raises(ValidationError) as refused:
        services.report_tombstone_message(moderator=moderator, report_id=report.pk)
    assert refused.value.code == "report_closed"
    assert LogEntry.objects.filter(object_id=str(report.pk)).count() == 1


def test_tombstone_of_a_message_deleted_meanwhile_just_closes_the_report(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "rude")
    report = _report(bob, message)
    services.message_delete(user=alice, message_id=message.pk)
    services.report_tombstone_message(moderator=moderator, report_id=report.pk)
    report.refresh_from_db()
    assert report.resolution == "tombstoned"
    (entry,) = LogEntry.objects.filter(object_id=str(report.pk))
    assert entry.change_message.endswith("the message was deleted already.")
    assert not LogEntry.objects.filter(object_id=str(message.pk)).exists()


def test_deactivating_an_author_already_deactivated_just_closes_the_report(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    report = _report(bob, post(alice, channel, "rude"))
    account_services.user_deactivate(actor=moderator, user=alice)
    services.report_deactivate_author(moderator=moderator, report_id=report.pk)
    report.refresh_from_db()
    assert report.resolution == "author_deactivated"
    (entry,) = LogEntry.objects.filter(object_id=str(report.pk))
    assert entry.change_message.endswith("alice was deactivated already.")


def test_a_report_made_twice_at_once_is_one_report(
    alice: Any, bob: Any, channel: Any, post: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique constraint decides a race: the loser gets the winner's report."""
    message = post(alice, channel, "rude")
    winner = _report(bob, message)
    real_filter = Report.objects.filter
    calls = {"n": 0}

    def first_sees_nothing(*args: Any, **kwargs: Any) -> Any:
        found = real_filter(*args, **kwargs)
        calls["n"] += 1
        return found.none() if calls["n"] == 1 else found

    monkeypatch.setattr(Report.objects, "filter", first_sees_nothing)
    with rls.acting_as_user(bob):
        again, created = services.report_create(user=bob, message_id=message.pk, reason="abuse")
    assert (again.pk, created) == (winner.pk, False)
    assert real_filter(message=message).count() == 1


@pytest.mark.parametrize("given", [5, ["a"], "x" * 501, "bell \x07"])
def test_detail_the_service_refuses_names_detail(given: Any) -> None:
    """The service holds the rules itself, for callers that skip the REST serializer."""
    with pytest.raises(ValidationError) as refused:
        check_detail(given)
    assert "detail" in refused.value.fields


@pytest.mark.parametrize("given", [None, "boring", 3])
def test_reason_the_service_refuses_names_reason(given: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        check_reason(given)
    assert "reason" in refused.value.fields
