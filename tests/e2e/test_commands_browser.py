"""Slash commands in a real Chromium: the command list as you type (keyboard, mouse, axe at
1280 px light and 360 px dark), /me shown as an action live to another person, /topic
changing the header, an unknown command refused in the composer, // sending a slash."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from chat.models import Message
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_the_command_list_helps_as_you_type(
    site: Site, people: dict[str, Any], width: int, scheme: str
) -> None:
    alice = site.room(
        people["alice"],
        viewport={"width": width, "height": 760},
        color_scheme=scheme,
        bypass_csp=True,  # for axe-core's script only
    )
    composer = alice.get_by_role("textbox", name="Message")
    listbox = alice.get_by_role("listbox", name="Slash commands")
    composer.fill("")
    composer.press_sequentially("/")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(5)
    expect(composer).to_be_focused()
    violations = axe_violations(alice)
    assert violations == [], violations

    composer.press_sequentially("t")
    expect(listbox.get_by_role("option")).to_have_count(1)
    topic = listbox.get_by_role("option", name="/topic")
    expect(topic).to_have_attribute("aria-selected", "true")
    expect(composer).to_have_attribute("aria-activedescendant", "command-topic")
    composer.press("Tab")
    expect(composer).to_have_value("/topic ")
    expect(listbox).to_be_hidden()
    composer.press_sequentially("Ship it on Friday")
    composer.press("Enter")
    expect(alice.locator("[data-room-topic-text]")).to_have_text("Ship it on Friday")
    expect(composer).to_have_value("")

    # Arrow keys move through the list; Escape closes it and keeps the text.
    composer.press_sequentially("/")
    expect(listbox.get_by_role("option", name="/me")).to_have_attribute("aria-selected", "true")
    composer.press("ArrowDown")
    expect(listbox.get_by_role("option", name="/shrug")).to_have_attribute("aria-selected", "true")
    composer.press("Escape")
    expect(listbox).to_be_hidden()
    expect(composer).to_have_value("/")
    # A click completes too.
    composer.press_sequentially("s")
    listbox.get_by_role("option", name="/shrug").click()
    expect(composer).to_have_value("/shrug ")
    expect(composer).to_be_focused()


def test_me_shows_as_an_action_to_others_and_bad_commands_stay_in_the_composer(
    site: Site, people: dict[str, Any]
) -> None:
    alice = site.room(people["alice"])
    bob = site.room(people["bob"])
    composer = alice.get_by_role("textbox", name="Message")
    composer.fill("/me waves at the team")
    composer.press("Enter")
    theirs = message(bob, "waves at the team")
    expect(theirs).to_have_class("message message-action")
    expect(message(alice, "waves at the team")).to_contain_class("message-action")
    style = theirs.locator(".message-body").evaluate("node => getComputedStyle(node).fontStyle")
    assert style == "italic"

    composer.fill("/dance now")
    composer.press("Enter")
    expect(alice.locator("#composer-error")).to_contain_text("/dance is not a command")
    expect(composer).to_have_value("/dance now")
    expect(composer).to_have_attribute("aria-invalid", "true")

    composer.fill("//etc/hosts is the file")
    composer.press("Enter")
    expect(message(bob, "/etc/hosts is the file")).to_be_visible()
    assert Message.objects.filter(content="/etc/hosts is the file").count() == 1
    assert not Message.objects.filter(content__startswith="/dance").exists()
