"""Accessibility, keyboard-only use and small screens, checked in headless Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts import services as accounts_services
from chat.models import Membership
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message, post
from tests.factories import PASSWORD, ChannelFactory, UserFactory

MOBILE = {"width": 360, "height": 740}


@pytest.fixture
def busy_general(people: dict[str, Any]) -> dict[str, Any]:
    """general with a conversation, a long unbroken word, and news bob has not read."""
    alice, bob, general = people["alice"], people["bob"], people["general"]
    post(alice, general, "Morning! Stand-up in five minutes.")
    post(bob, general, "On my way.\nBringing coffee.")
    last = post(alice, general, "Logs: " + "x" * 180)
    Membership.objects.filter(channel=general, user=bob).update(last_read_seq=last.seq - 1)
    post(alice, general, "Release notes: https://example.com/releases/2026/11/very-long-path")
    ChannelFactory.create(name="random", title="Random", topic="Off-topic and fun")
    return people


def signup_path() -> str:
    """The sign-up form, reached the default way (CHAT_SIGNUP=invite): an invitation link."""
    inviter = UserFactory.create(role="moderator")
    _, token = accounts_services.invitation_create(actor=inviter)
    return f"/accounts/invite/{token}/"


def assert_no_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_wcag_a_or_aa_violation_on_any_page(
    site: Site,
    busy_general: dict[str, Any],
    scheme: str,
) -> None:
    options: dict[str, Any] = {"bypass_csp": True, "color_scheme": scheme}
    anonymous = site.page(None, "/accounts/login/", **options)
    expect(anonymous.get_by_role("heading", name="Log in")).to_be_visible()
    assert_no_violations(anonymous)

    anonymous.goto(signup_path())
    expect(anonymous).to_have_url(re.compile(r"/accounts/signup/$"))
    assert_no_violations(anonymous)
    anonymous.get_by_role("button", name="Sign up").click()  # empty: every field has an error
    expect(anonymous.locator(".field-invalid")).to_have_count(3)
    if scheme == "light":  # the dark run checks colours, on one page of each layout
        assert_no_violations(anonymous)

    bob = site.page(busy_general["bob"], "/", **options)
    expect(bob.get_by_role("link", name="#general 2 unread")).to_be_visible()
    expect(bob.get_by_role("button", name="Join #random")).to_be_visible()
    assert_no_violations(bob)

    room = site.room(busy_general["bob"], **options)
    expect(room.locator("#unread-divider")).to_be_visible()
    composer = room.get_by_role("textbox", name="Message")
    composer.fill("A draft in progress")
    message(room, "On my way.").get_by_role("button", name="Edit your message").click()
    expect(room.get_by_role("textbox", name="Edit message")).to_be_focused()
    assert_no_violations(room)
    room.keyboard.press("Escape")
    expect(
        message(room, "On my way.").get_by_role("button", name="Edit your message")
    ).to_be_focused()


def test_the_whole_send_flow_works_by_keyboard_alone(
    site: Site, people: dict[str, Any], daphne: Any
) -> None:
    alice = site.room(people["alice"])
    page = site.page(None, "/accounts/login/")

    # The login form puts the focus in its first field.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{daphne.url}/")

    tab_to(page, 'a[href="/channels/general/"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{daphne.url}/channels/general/")
    expect(page.get_by_role("status")).to_have_text("Connected")

    # The first Tab reaches the skip link; it moves the focus to the main content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "#composer-input")
    page.keyboard.type("Typed by keyboard")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("on two lines")
    page.keyboard.press("Enter")

    sent = message(alice, "Typed by keyboard")
    expect(sent).to_have_count(1)
    expect(sent.locator(".message-body")).to_have_text("Typed by keyboard\non two lines")
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()

    # A message arriving while typing does not take the focus away.
    page.keyboard.type("half a thought")
    alice_composer = alice.get_by_role("textbox", name="Message")
    alice_composer.fill("Interrupting!")
    alice_composer.press("Enter")
    expect(message(page, "Interrupting!")).to_have_count(1)
    expect(composer).to_be_focused()
    expect(composer).to_have_value("half a thought")

    # Nothing traps the keyboard: Tab leaves the composer for Send and then moves on.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") != "composer-input"
    assert page.evaluate("document.activeElement.textContent.trim()") != "Send"
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    expect(message(alice, "half a thought")).to_have_count(1)

    # Focus is visible: the focused control draws an outline.
    composer.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2] == MOBILE["width"], widths


def test_at_360_by_740_nothing_scrolls_sideways_and_the_composer_is_on_screen(
    site: Site, busy_general: dict[str, Any]
) -> None:
    alice, general = busy_general["alice"], busy_general["general"]
    last = post(alice, general, *(f"Filler message {number}" for number in range(30)))
    # alice has read everything, so her room opens at the newest message.
    Membership.objects.filter(channel=general, user=alice).update(last_read_seq=last.seq)
    page = site.page(None, "/accounts/login/", viewport=MOBILE)
    no_horizontal_scroll(page)
    page.goto(signup_path())
    expect(page.get_by_label("Username")).to_be_visible()
    no_horizontal_scroll(page)

    lists = site.page(busy_general["bob"], "/", viewport=MOBILE)
    no_horizontal_scroll(lists)

    room = site.room(busy_general["alice"], viewport=MOBILE)
    expect(message(room, "Filler message 29")).to_be_in_viewport()
    no_horizontal_scroll(room)
    for control in (
        room.get_by_role("textbox", name="Message"),
        room.get_by_role("button", name="Send"),
    ):
        expect(control).to_be_in_viewport(ratio=1)
    # The page itself does not scroll: the log does, so the composer stays put.
    assert room.evaluate("document.documentElement.scrollHeight") <= MOBILE["height"]
    composer = room.get_by_role("textbox", name="Message")
    composer.fill("Sent from a phone")
    composer.press("Enter")
    sent = room.locator("article.message:not(.message-pending)", has_text="Sent from a phone")
    expect(sent).to_be_in_viewport()
    expect(composer).to_be_in_viewport(ratio=1)
    no_horizontal_scroll(room)


def test_static_files_are_served_under_asgi(site: Site) -> None:
    response = site.context().request.get("/static/js/room.js")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "class Room" in response.text()
    # Served above SecurityMiddleware, with the same protective headers.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    css = site.context().request.get("/static/css/chatsite.css")
    assert css.status == 200
    assert css.headers["content-type"].startswith("text/css")
