"""Rich messages in a real Chromium: formatted bodies, reactions and threads live between two
people, the thread panel and the emoji picker by keyboard, axe, and the XSS corpus inert."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, Request, expect

from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message, post
from tests.unit.test_rendering import XSS_CORPUS


def thread_panel(page: Page) -> Any:
    return page.get_by_role("complementary", name="Thread")


def test_formatted_messages_show_the_servers_html(site: Site, people: dict[str, Any]) -> None:
    post(
        people["bob"],
        people["general"],
        "**bold** and `code` for @alice :tada:\n```python\ndef f():\n    return 1\n```",
    )
    alice = site.room(people["alice"])
    body = message(alice, "bold").locator(".message-body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("code").first).to_have_text("code")
    expect(body.locator(".mention")).to_have_text("@alice")
    expect(body).to_contain_text("🎉")
    expect(body.locator("pre.highlight .k").first).to_have_text("def")


def test_two_people_react_and_reply_live(site: Site, people: dict[str, Any]) -> None:
    post(people["bob"], people["general"], "Lunch at noon?")
    alice = site.room(people["alice"])
    bob = site.room(people["bob"])

    # alice reacts from the picker; bob sees the chip, not pressed for him.
    message(alice, "Lunch at noon?").get_by_role("button", name="React to this message").click()
    alice.get_by_role("dialog", name="Pick a reaction").get_by_role(
        "button", name="party popper"
    ).click()
    mine = message(alice, "Lunch at noon?").locator(".reaction", has_text="🎉")
    expect(mine).to_have_attribute("aria-pressed", "true")
    theirs = message(bob, "Lunch at noon?").locator(".reaction", has_text="🎉")
    expect(theirs).to_have_attribute("aria-pressed", "false")
    expect(theirs.locator(".reaction-count")).to_have_text("1")
    # bob adds his to the same chip: alice sees the count go up.
    theirs.click()
    expect(theirs).to_have_attribute("aria-pressed", "true")
    expect(mine.locator(".reaction-count")).to_have_text("2")
    # alice takes hers back.
    mine.click()
    expect(theirs.locator(".reaction-count")).to_have_text("1")

    # alice replies in a thread; bob sees "1 reply", marked new, then reads it in the panel.
    message(alice, "Lunch at noon?").get_by_role("button", name="Reply in thread").click()
    panel = thread_panel(alice)
    expect(panel).to_be_visible()
    expect(panel.locator(".thread-parent")).to_contain_text("Lunch at noon?")
    reply_box = panel.get_by_role("textbox", name="Reply")
    expect(reply_box).to_be_focused()
    reply_box.fill("Yes, **noon** works")
    reply_box.press("Enter")
    expect(panel.locator(".thread-log strong")).to_have_text("noon")
    summary = message(bob, "Lunch at noon?").locator(".thread-summary")
    expect(summary).to_contain_text("1 reply")
    expect(summary).to_have_attribute("data-unread", "true")
    # The reply stays out of the room's log.
    expect(bob.get_by_role("log", name="Messages in #general")).not_to_contain_text("works")
    summary.click()
    bob_panel = thread_panel(bob)
    expect(bob_panel.locator(".thread-log")).to_contain_text("Yes, noon works")
    expect(summary).not_to_have_attribute("data-unread", "true")
    # A second reply arrives live in bob's open panel and on alice's parent.
    reply_box.fill("See you there")
    reply_box.press("Enter")
    expect(bob_panel.locator(".thread-log")).to_contain_text("See you there")
    expect(message(alice, "Lunch at noon?").locator(".thread-summary")).to_contain_text("2 replies")


def test_thread_panel_and_picker_work_by_keyboard(site: Site, people: dict[str, Any]) -> None:
    post(people["bob"], people["general"], "Keyboard only")
    alice = site.room(people["alice"])
    target = message(alice, "Keyboard only")

    react = target.get_by_role("button", name="React to this message")
    react.focus()
    alice.keyboard.press("Enter")
    picker = alice.get_by_role("dialog", name="Pick a reaction")
    expect(picker.get_by_role("button", name="thumbs up")).to_be_focused()
    alice.keyboard.press("ArrowRight")
    expect(picker.get_by_role("button", name="thumbs down")).to_be_focused()
    alice.keyboard.press("ArrowDown")
    alice.keyboard.press("ArrowUp")
    alice.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(react).to_be_focused()
    expect(target.locator(".reaction", has_text="👎")).to_have_attribute("aria-pressed", "true")
    # Escape closes the picker without a reaction, focus back on its button.
    alice.keyboard.press("Enter")
    expect(picker).to_be_visible()
    alice.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(react).to_be_focused()

    reply = target.get_by_role("button", name="Reply in thread")
    reply.focus()
    alice.keyboard.press("Enter")
    panel = thread_panel(alice)
    box = panel.get_by_role("textbox", name="Reply")
    expect(box).to_be_focused()
    alice.keyboard.type("typed reply")
    alice.keyboard.press("Enter")
    expect(panel.locator(".thread-log")).to_contain_text("typed reply")
    alice.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(reply).to_be_focused()
    expect(target.locator(".thread-summary")).to_have_text("1 reply")


@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("dark", 1280), ("light", 360)])
def test_rich_room_and_thread_panel_are_axe_clean(
    site: Site, people: dict[str, Any], scheme: str, width: int
) -> None:
    post(
        people["bob"],
        people["general"],
        "Release notes: **done**, `v2` ~~soon~~ @alice\n> quoted\n\n```python\nx = 1  # one\n```",
    )
    room = site.room(
        people["alice"],
        color_scheme=scheme,
        viewport={"width": width, "height": 800},
        bypass_csp=True,
    )
    target = message(room, "Release notes")
    target.get_by_role("button", name="React to this message").click()
    room.get_by_role("dialog", name="Pick a reaction").get_by_role("button", name="rocket").click()
    expect(target.locator(".reaction")).to_have_count(1)
    target.get_by_role("button", name="Reply in thread").click()
    panel = thread_panel(room)
    panel.get_by_role("textbox", name="Reply").fill("a reply with `code`")
    panel.get_by_role("button", name="Send reply").click()
    expect(panel.locator(".thread-log code")).to_have_text("code")
    if width < 768:
        box = panel.bounding_box()
        assert box is not None and box["width"] == width  # the whole screen
    violations = axe_violations(room)
    assert violations == [], violations


def test_xss_corpus_is_inert_in_the_browser(site: Site, people: dict[str, Any]) -> None:
    # The payloads set a flag instead of alert(): nothing may set it or open a dialog, and the
    # site fixture fails the test on any CSP refusal (something tried to run) or script error.
    corpus = [item.replace("alert(1)", "window.__pwned=1") for item in XSS_CORPUS]
    post(people["bob"], people["general"], *corpus)
    alice = site.room(people["alice"])
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    alice.on("dialog", refuse)
    expect(alice.locator("#message-log article.message")).to_have_count(len(corpus))
    # Live: the same corpus arrives over the socket and is rendered by the page's script.
    post(people["bob"], people["general"], *corpus[:10])
    expect(alice.locator("#message-log article.message")).to_have_count(len(corpus) + 10)
    # And through the composer's preview.
    alice.get_by_role("textbox", name="Message").fill(corpus[4])
    alice.get_by_text("Formatting").click()
    alice.get_by_role("button", name="Preview").click()
    expect(alice.locator("[data-preview-output]")).to_contain_text("x")
    for link in alice.locator("#message-log a[href]").all():
        assert (link.get_attribute("href") or "").startswith(("http://", "https://", "mailto:"))
    alice.locator("#message-log a[href]").first.hover()
    assert alice.evaluate("window.__pwned") is None
    assert alice.locator("#message-log script, #message-log img, #message-log iframe").count() == 0
    assert dialogs == []


def test_preview_shows_the_servers_rendering(site: Site, people: dict[str, Any]) -> None:
    alice = site.room(people["alice"])
    alice.get_by_role("textbox", name="Message").fill("**strong** :rocket:")
    alice.get_by_text("Formatting").click()
    alice.get_by_role("button", name="Preview").click()
    output = alice.locator("[data-preview-output]")
    expect(output.locator("strong")).to_have_text("strong")
    expect(output).to_contain_text("🚀")


def test_thread_picker_and_preview_load_on_first_use(site: Site, people: dict[str, Any]) -> None:
    """The room's first load leaves out the thread panel, the emoji picker and the preview
    (docs/web.md, "Weight"); each module is fetched when first used, and then works."""
    post(people["bob"], people["general"], "Deploy on Friday?")
    page = site.context(people["alice"]).new_page()
    scripts: list[str] = []

    def note(request: Request) -> None:
        if request.resource_type == "script":
            scripts.append(request.url.rsplit("/", 1)[-1])

    page.on("request", note)
    page.goto("/channels/general/")
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    expect(page.get_by_role("log")).to_have_attribute("aria-busy", "false")
    assert "room.js" in scripts and "rich-messages.js" in scripts
    lazy = {"thread.js", "reactions.js", "preview.js"}
    assert not lazy & set(scripts), scripts

    message(page, "Deploy on Friday?").get_by_role("button", name="React to this message").click()
    picker = page.get_by_role("dialog", name="Pick a reaction")
    expect(picker.get_by_role("button", name="thumbs up")).to_be_focused()
    assert "reactions.js" in scripts
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    assert "thread.js" not in scripts

    message(page, "Deploy on Friday?").get_by_role("button", name="Reply in thread").click()
    expect(thread_panel(page).get_by_role("textbox", name="Reply")).to_be_focused()
    assert "thread.js" in scripts
    page.keyboard.press("Escape")
    expect(thread_panel(page)).to_be_hidden()

    assert "preview.js" not in scripts
    page.get_by_role("textbox", name="Message").fill("*soon*")
    page.get_by_text("Formatting").click()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-preview-output] em")).to_have_text("soon")
    assert "preview.js" in scripts
