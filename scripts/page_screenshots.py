"""Take the screenshots of the web pages shown in README.md (docs/images/).

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/page_screenshots.py --base-url http://127.0.0.1:8000

It signs in as the demo users through the login page, starts a direct message, posts a few
messages from the room's composer and saves the room (desktop, dark and 360 px wide), the
sidebar as a phone's home view and the channel list. It adds messages to the demo data: run
it on a throwaway database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright
from screenshot_browser import PASSWORD, launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
DESKTOP = {"width": 1280, "height": 760}
MOBILE = {"width": 360, "height": 740}


def shot(page: Page, name: str) -> None:
    save_shot(page, OUT, name)


def signed_in(browser: Browser, base_url: str, username: str, **options: object) -> Page:
    context = browser.new_context(base_url=base_url, **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Channels", exact=True).first).to_be_visible()
    return page


def open_room(page: Page, name: str = "general") -> None:
    page.goto(f"/channels/{name}/")
    expect(page.get_by_role("status")).to_have_text("Connected")


def send(page: Page, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    sent = page.locator("article.message:not(.message-pending)", has_text=text)
    expect(sent).to_have_count(1)


def start_dm(page: Page, name: str, text: str) -> None:
    """New message -> pick ``name`` from the suggestions -> Start, then say ``text``."""
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog", name="New message")
    field = dialog.get_by_role("combobox", name="To")
    field.press_sequentially(name[:3].lower())
    expect(dialog.get_by_role("option", name=name)).to_have_attribute("aria-selected", "true")
    field.press("Enter")
    dialog.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Connected")
    send(page, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        bob = signed_in(browser, base_url, "bob", viewport=DESKTOP)
        alice = signed_in(browser, base_url, "alice", viewport=MOBILE)
        shot(alice, "sidebar-mobile")
        carol = signed_in(browser, base_url, "carol", viewport=DESKTOP)
        start_dm(carol, "Bob Baker", "Got a minute for the release notes?")
        open_room(alice)
        open_room(bob)
        send(alice, "Pushed the fix for the login page, reviews welcome.")
        send(bob, "Looking now.")
        send(bob, "Left two small comments.\nShift+Enter makes a new line, Enter sends.")
        send(carol, "Thanks both!")
        # The server passes on at most one typing notice per person and room every 3 s, and
        # a notice shows for 5 s.
        bob.wait_for_timeout(5100)
        bob.get_by_role("textbox", name="Message").press_sequentially("Approved")
        expect(alice.locator("#typing-indicator")).to_have_text("Bob Baker is typing…")
        bob.locator("article.message", has_text="Pushed the fix").hover()
        shot(bob, "room-desktop")
        shot(alice, "room-mobile")
        bob.goto("/")
        shot(bob, "channels-desktop")
        dark = signed_in(browser, base_url, "carol", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        shot(dark, "room-desktop-dark")
        browser.close()


if __name__ == "__main__":
    main()
