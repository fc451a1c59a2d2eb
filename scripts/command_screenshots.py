"""Take the screenshots of slash commands in the composer (docs/web.md, "Slash commands").

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/command_screenshots.py --base-url http://127.0.0.1:8000

It signs in as the demo users, posts a /me message, and saves the command list open in the
composer (desktop, dark, 360 px). It adds a message to the demo data: run it on a throwaway
database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, signed_in
from playwright.sync_api import Page, expect, sync_playwright
from screenshot_browser import launch, save_shot


def type_slash(page: Page, text: str = "/") -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("")
    composer.press_sequentially(text)
    expect(page.get_by_role("listbox", name="Slash commands")).to_be_visible()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/images", type=Path)
    args = parser.parse_args()
    base_url, out = args.base_url.rstrip("/"), args.out
    with sync_playwright() as playwright:
        browser = launch(playwright)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(alice)
        composer = alice.get_by_role("textbox", name="Message")
        composer.fill("/me is deploying the release")
        composer.press("Enter")
        expect(alice.locator(".message-action", has_text="deploying")).to_be_visible()
        type_slash(alice)
        save_shot(alice, out, "commands-desktop")
        dark = signed_in(browser, base_url, "bob", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        type_slash(dark, "/t")
        save_shot(dark, out, "commands-desktop-dark")
        phone = signed_in(browser, base_url, "carol", viewport=MOBILE)
        open_room(phone)
        type_slash(phone)
        save_shot(phone, out, "commands-mobile")
        browser.close()


if __name__ == "__main__":
    main()
