"""Take the screenshots of reporting a message and of the moderators' report queue
(docs/moderation.md, "Reports").

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/report_screenshots.py --base-url http://127.0.0.1:8000

It signs in as the demo users, posts a message, reports it from the room (desktop, dark,
360 px), then opens the report queue and a report in the admin as ``moderator``. It adds
messages and reports to the demo data: run it on a throwaway database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, signed_in
from playwright.sync_api import Browser, Page, expect, sync_playwright
from screenshot_browser import PASSWORD, launch, save_shot

SPAM = "Crypto giveaway!!! Send 1 BTC to win 10, offer ends tonight: https://example.com/win"
REPORT = "Report this message to the moderators"


def send(page: Page, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    expect(page.locator("article.message:not(.message-pending)", has_text=text[:20])).to_have_count(
        1
    )


def open_report(page: Page) -> Page:
    target = page.get_by_role("log").locator("article.message", has_text="Crypto giveaway").last
    target.hover()
    target.get_by_role("button", name=REPORT).click()
    dialog = page.get_by_role("dialog", name="Report message")
    expect(dialog).to_be_visible()
    return page


def admin(browser: Browser, base_url: str) -> Page:
    page = browser.new_page(viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]})
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill("moderator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/img/moderation", type=Path)
    args = parser.parse_args()
    base_url, out = args.base_url.rstrip("/"), args.out
    with sync_playwright() as playwright:
        browser = launch(playwright)
        bob = signed_in(browser, base_url, "bob", viewport=DESKTOP)
        open_room(bob)
        send(bob, SPAM)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(alice)
        open_report(alice)
        save_shot(alice, out, "10-report-dialog")
        dialog = alice.get_by_role("dialog", name="Report message")
        dialog.get_by_role("radio", name="Spam or advertising").check()
        dialog.get_by_role("textbox").fill("Same link in three channels today.")
        dialog.get_by_role("button", name="Report").click()
        expect(alice.locator("#toast")).not_to_be_empty()
        save_shot(alice, out, "11-report-sent")
        dark = signed_in(browser, base_url, "carol", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        open_report(dark)
        save_shot(dark, out, "12-report-dialog-dark")
        phone = signed_in(browser, base_url, "carol", viewport=MOBILE)
        open_room(phone)
        open_report(phone)
        save_shot(phone, out, "13-report-dialog-mobile")
        moderator = admin(browser, base_url)
        moderator.goto(f"{base_url}/admin/chat/report/")
        save_shot(moderator, out, "14-report-queue")
        moderator.get_by_role("link", name="Crypto giveaway").first.click()
        save_shot(moderator, out, "15-report-detail", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
