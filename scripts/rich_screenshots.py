"""Take the screenshots of rich messages, reactions and threads (docs/web.md, docs/images/).

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/rich_screenshots.py --base-url http://127.0.0.1:8000

It signs in as the demo users, posts formatted messages, reacts and replies in a thread from
the pages, and saves the room with the thread panel (desktop, dark, 360 px) and the emoji
picker. It adds messages to the demo data: run it on a throwaway database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, signed_in
from playwright.sync_api import Locator, Page, expect, sync_playwright
from screenshot_browser import launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"

FORMATTED = (
    "**Deploy checklist** for @alice :rocket:\n"
    "- run `make test`\n"
    "- tag the release, see https://example.com/releases\n"
    "> ~~Friday deploys~~ are fine now"
)
CODE = (
    "Fix for the retry loop:\n```python\ndef backoff(attempt: int) -> float:\n"
    "    # doubles, capped at 30 s\n    return min(30.0, 0.5 * 2 ** attempt)\n```"
)


def article(page: Page, text: str) -> Locator:
    return page.get_by_role("log").locator("article.message", has_text=text).last


def to_bottom(page: Page) -> None:
    page.locator("#message-log").evaluate("log => { log.scrollTop = log.scrollHeight; }")


def send(page: Page, text: str, shown: str) -> None:
    """Send ``text`` from the composer; wait until the message showing ``shown`` is stored."""
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    expect(page.locator("article.message:not(.message-pending)", has_text=shown)).to_have_count(1)


def react(page: Page, text: str, name: str) -> None:
    article(page, text).get_by_role("button", name="React to this message").click()
    page.get_by_role("dialog", name="Pick a reaction").get_by_role("button", name=name).click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        bob = signed_in(browser, base_url, "bob", viewport=DESKTOP)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(bob)
        open_room(alice)
        send(bob, FORMATTED, "Deploy checklist")
        send(alice, CODE, "retry loop")
        react(alice, "Deploy checklist", "thumbs up")
        react(bob, "Deploy checklist", "thumbs up")
        react(bob, "Deploy checklist", "party popper")
        react(bob, "retry loop", "eyes")
        # A thread on the code: bob replies, alice answers.
        article(bob, "retry loop").get_by_role("button", name="Reply in thread").click()
        panel = bob.get_by_role("complementary", name="Thread")
        box = panel.get_by_role("textbox", name="Reply")
        box.fill("Looks right. Maybe add **jitter** so clients do not retry in step?")
        box.press("Enter")
        expect(panel.locator(".thread-log strong")).to_have_text("jitter")
        summary = article(alice, "retry loop").locator(".thread-summary")
        expect(summary).to_contain_text("1 reply")
        summary.click()
        alice_panel = alice.get_by_role("complementary", name="Thread")
        alice_box = alice_panel.get_by_role("textbox", name="Reply")
        alice_box.fill("Good call :+1: pushed `random.uniform(0, delay)`")
        alice_box.press("Enter")
        expect(panel.locator(".thread-log")).to_contain_text("pushed")
        bob.mouse.move(5, 5)
        to_bottom(bob)
        save_shot(bob, OUT, "rich-desktop")
        # The picker, open on a message.
        article(alice, "Deploy checklist").get_by_role(
            "button", name="React to this message"
        ).click()
        expect(alice.get_by_role("dialog", name="Pick a reaction")).to_be_visible()
        save_shot(alice, OUT, "rich-picker")
        dark = signed_in(browser, base_url, "carol", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        article(dark, "retry loop").locator(".thread-summary").click()
        expect(
            dark.get_by_role("complementary", name="Thread").locator(".thread-log")
        ).to_contain_text("pushed")
        dark.mouse.move(5, 5)
        to_bottom(dark)
        save_shot(dark, OUT, "rich-desktop-dark")
        phone = signed_in(browser, base_url, "alice", viewport=MOBILE)
        open_room(phone)
        to_bottom(phone)
        save_shot(phone, OUT, "rich-mobile")
        article(phone, "retry loop").locator(".thread-summary").click()
        expect(
            phone.get_by_role("complementary", name="Thread").locator(".thread-log")
        ).to_contain_text("pushed")
        save_shot(phone, OUT, "rich-mobile-thread")
        browser.close()


if __name__ == "__main__":
    main()
