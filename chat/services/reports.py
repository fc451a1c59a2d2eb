"""Members report messages to the moderators; moderators close reports by acting on them
(docs/moderation.md, "Reports").

A report keeps a snapshot of what its reporter saw (the message and a little context), taken
as the reporter, since moderators cannot read direct messages. The moderators' actions on a
report (tombstone the message, dismiss, deactivate the author) close it with who and when,
and leave entries in the audit trail in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from chat import audit, selectors
from chat.exceptions import NotFound, ValidationError
from chat.models import REPORT_DETAIL_MAX_LENGTH, Channel, Message, Report
from chat.services import base
from chat.services.messages import message_tombstone
from chat.validators import clean_content, parse_uuid
from chatsite import ratelimit, rls

DM_LABEL = "direct message"


def check_reason(value: object) -> str:
    if value not in Report.Reason.values:
        choices = ", ".join(Report.Reason.values)
        problem = f"Must be one of: {choices}."
        raise ValidationError(problem, fields={"reason": [problem]})
    assert isinstance(value, str)
    return value


def check_detail(value: object) -> str:
    """Optional free text: at most REPORT_DETAIL_MAX_LENGTH characters, no control characters
    but newlines and tabs, bidirectional controls stripped; blank means none."""
    if value is None:
        return ""
    if not isinstance(value, str):
        problem = "Must be text."
        raise ValidationError(problem, fields={"detail": [problem]})
    text = clean_content(value).strip()
    if len(text) > REPORT_DETAIL_MAX_LENGTH:
        problem = f"At most {REPORT_DETAIL_MAX_LENGTH} characters."
        raise ValidationError(problem, fields={"detail": [problem]})
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        problem = "Control characters are not allowed."
        raise ValidationError(problem, fields={"detail": [problem]})
    return text


def channel_label(channel: Channel) -> str:
    return DM_LABEL if channel.is_dm else f"#{channel.name}"


def _open_report_of(*, message: Message, user: User) -> Report | None:
    return Report.objects.filter(message=message, reporter=user, resolved_at__isnull=True).first()


@transaction.atomic
def report_create(
    *, user: User, message_id: Any, reason: object, detail: object = ""
) -> tuple[Report, bool]:
    """Report a message the user can read to the moderators. Returns the report and whether
    it is new: while the user's earlier report of the message is open, that one is returned
    and nothing changes."""
    base.check_rate(ratelimit.REPORT, user, "reports")
    reason = check_reason(reason)
    detail = check_detail(detail)
    message = selectors.reportable_message(user=user, message_id=message_id)
    if message.is_deleted:
        problem = "This message was deleted."
        raise ValidationError(problem, code="message_deleted", fields={"message_id": [problem]})
    if message.user_id == user.pk:
        problem = "You cannot report your own message."
        raise ValidationError(problem, code="own_message", fields={"message_id": [problem]})
    existing = _open_report_of(message=message, user=user)
    if existing is not None:
        return existing, False
    report = Report(
        message=message,
        channel=message.channel,
        channel_kind=message.channel.kind,
        channel_label=channel_label(message.channel),
        author=message.user,
        reporter=user,
        reason=reason,
        detail=detail,
        snapshot=selectors.report_snapshot(user=user, message=message),
    )
    try:
        with transaction.atomic():
            report.save(force_insert=True)
    except IntegrityError:
        # The same report, sent twice at once: the other request made it.
        existing = _open_report_of(message=message, user=user)
        assert existing is not None
        return existing, False
    return report, True


def describe_report(report: Report) -> str:
    seq = report.snapshot.get("message", {}).get("seq", "?")
    where = "a direct message" if report.channel_kind == Channel.Kind.DM else report.channel_label
    return f"report of message {seq} by {report.author.username} in {where}"


def _open_report(*, moderator: User, report_id: Any) -> Report:
    base.check_moderator(moderator)
    report_uuid = parse_uuid(report_id)
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("author", "reporter")
        .filter(pk=report_uuid)
        .first()
        if report_uuid is not None
        else None
    )
    if report is None:
        raise NotFound("Report not found.")
    if not report.is_open:
        raise ValidationError("This report is closed already.", code="report_closed")
    return report


def _close(*, reports: Iterable[Report], moderator: User, resolution: str, why: str) -> int:
    """Close open reports with ``resolution``, each with an audit entry naming ``why``."""
    now = timezone.now()
    closed = 0
    for report in reports:
        report.resolution = resolution
        report.resolved_by = moderator
        report.resolved_at = now
        report.save(update_fields=["resolution", "resolved_by", "resolved_at"])
        described = describe_report(report)
        audit.record(
            actor=moderator,
            target=report,
            description=described,
            change_message=(
                f"Closed the {described} from {report.reporter.username} ({report.reason}): {why}."
            ),
        )
        closed += 1
    return closed


def _others_open(report: Report, **lookups: Any) -> list[Report]:
    others = (
        Report.objects.select_for_update(of=("self",))
        .select_related("author", "reporter")
        .filter(resolved_at__isnull=True, **lookups)
        .exclude(pk=report.pk)
        .order_by("created_at", "pk")
    )
    return list(others)


@transaction.atomic
def report_dismiss(*, moderator: User, report_id: Any) -> Report:
    """Close a report without acting on the message or its author."""
    report = _open_report(moderator=moderator, report_id=report_id)
    _close(
        reports=[report],
        moderator=moderator,
        resolution=Report.Resolution.DISMISSED,
        why="dismissed",
    )
    return report


@transaction.atomic
def report_tombstone_message(*, moderator: User, report_id: Any) -> Report:
    """Tombstone the reported message (as a moderator's tombstone: restorable, audited, live)
    and close every open report of it.

    The report gives the moderator this one message, direct messages included, so the
    message is read and changed as the service; everything else of a direct message stays
    out of the moderator's sight.
    """
    report = _open_report(moderator=moderator, report_id=report_id)
    with rls.acting_as_service():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("user", "channel")
            .get(pk=report.message_id)
        )
        why = "the message was deleted already"
        if not message.is_deleted:
            message_tombstone(message=message, moderator=moderator)
            why = f"tombstoned the message (change seq {message.change_seq})"
    reports = [report, *_others_open(report, message_id=report.message_id)]
    _close(reports=reports, moderator=moderator, resolution=Report.Resolution.TOMBSTONED, why=why)
    return report


@transaction.atomic
def report_deactivate_author(*, moderator: User, report_id: Any) -> Report:
    """Deactivate the reported message's author (accounts.services.user_deactivate: rank
    rules, sign-out everywhere, audited) and close every open report of their messages."""
    report = _open_report(moderator=moderator, report_id=report_id)
    author = User.objects.get(pk=report.author_id)
    why = f"{author.username} was deactivated already"
    if author.is_active:
        account_services.user_deactivate(actor=moderator, user=author)
        why = f"deactivated {author.username}"
    reports = [report, *_others_open(report, author_id=report.author_id)]
    _close(
        reports=reports,
        moderator=moderator,
        resolution=Report.Resolution.AUTHOR_DEACTIVATED,
        why=why,
    )
    return report
