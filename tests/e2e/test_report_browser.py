"""Reporting a message in a real Chromium: the Report button, the accessible dialog with the
reasons (by keyboard, axe-checked at desktop and phone widths), the confirmation, the report
stored with what the reporter saw."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from chat.models import Report
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message, post


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_report_a_message_from_the_dialog(
    site: Site, people: dict[str, Any], width: int, scheme: str
) -> None:
    post(people["bob"], people["general"], "Cheap watches here", "Buy now, limited offer")
    post(people["alice"], people["general"], "My own words")
    alice = site.room(
        people["alice"],
        viewport={"width": width, "height": 760},
        color_scheme=scheme,
        bypass_csp=True,  # for axe-core's script only
    )

    # Nobody reports their own message.
    own = message(alice, "My own words")
    expect(own.get_by_role("button", name="Report this message to the moderators")).to_have_count(0)

    target = message(alice, "Buy now")
    report = target.get_by_role("button", name="Report this message to the moderators")
    report.focus()
    alice.keyboard.press("Enter")
    dialog = alice.get_by_role("dialog", name="Report message")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-report-quote]")).to_have_text("Bob: Buy now, limited offer")
    spam = dialog.get_by_role("radio", name="Spam or advertising")
    expect(spam).to_be_focused()
    violations = axe_violations(alice)
    assert violations == [], violations

    # Sending without a reason says so and sends nothing.
    dialog.get_by_role("button", name="Report").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose why you are reporting this message.")
    assert not Report.objects.exists()

    alice.keyboard.press("ArrowDown")  # radios move with the arrows
    expect(dialog.get_by_role("radio", name="Abusive or offensive")).to_be_checked()
    dialog.get_by_role("textbox", name="Anything the moderators should know").fill(
        "Posted in every channel"
    )
    dialog.get_by_role("button", name="Report").click()
    expect(dialog).to_be_hidden()
    expect(alice.locator("#toast")).to_have_text("Thanks. The moderators have your report.")
    expect(report).to_be_focused()

    stored = Report.objects.get()
    assert (stored.reason, stored.detail, stored.reporter_id) == (
        "abuse",
        "Posted in every channel",
        people["alice"].pk,
    )
    assert stored.snapshot["message"]["content"] == "Buy now, limited offer"
    assert [m["content"] for m in stored.snapshot["before"]] == ["Cheap watches here"]


def test_report_dialog_closes_with_escape_and_reports_nothing(
    site: Site, people: dict[str, Any]
) -> None:
    post(people["bob"], people["general"], "Borderline joke")
    alice = site.room(people["alice"], color_scheme="dark")
    target = message(alice, "Borderline joke")
    report = target.get_by_role("button", name="Report this message to the moderators")
    report.click()
    dialog = alice.get_by_role("dialog", name="Report message")
    expect(dialog).to_be_visible()
    alice.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(report).to_be_focused()
    assert not Report.objects.exists()
