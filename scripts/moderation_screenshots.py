"""Take the screenshots of docs/moderation.md by working through the admin in Chromium.

Run against a server with fresh demo data (`make run`, or runserver after migrate + seed):

    .venv/bin/python scripts/moderation_screenshots.py --base-url http://127.0.0.1:8000

It edits one of alice's messages through the REST API (so there is an edit history), then, as
the demo moderator, tombstones that message, deactivates carol and archives `random`, and
saves a picture of each page to docs/img/moderation/. It changes the demo data: run it on a
throwaway database.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from screenshot_browser import PASSWORD, launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "moderation"


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    save_shot(page, OUT, name, full_page=full_page)


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def run_action(page: Page, row_text: str, action: str) -> None:
    """Tick the changelist row that shows ``row_text`` and run ``action`` on it."""
    row = page.locator("#result_list tbody tr", has_text=row_text).first
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_load_state()


def edit_a_message_as_alice(playwright: Any, base_url: str) -> str:
    """Edit alice's first message in #general through the REST API; return its new text."""
    api = playwright.request.new_context(base_url=base_url)
    token = api.post("/api/auth/token/", data={"username": "alice", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access']}"}
    channels = api.get("/api/chat/channels/", headers=headers).json()
    general = next(c for c in channels if c["name"] == "general")
    history = api.get(f"/api/chat/messages?channel_id={general['id']}", headers=headers).json()
    mine = next(m for m in history["results"] if m["author"]["username"] == "alice")
    new_text = mine["content"] + " (edited: see the agenda in #random)"
    api.patch(f"/api/chat/messages/{mine['id']}", data={"content": new_text}, headers=headers)
    api.dispose()
    return new_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")

    with sync_playwright() as playwright:
        edited = edit_a_message_as_alice(playwright, base_url)
        browser = launch(playwright)

        # A member never reaches the admin: the login page says so.
        member = browser.new_page(viewport={"width": 1200, "height": 700})
        member.goto(f"{base_url}/accounts/login/")
        member.fill("#id_username", "bob")
        member.fill("#id_password", PASSWORD)
        member.click("main button[type=submit]")
        member.wait_for_load_state()
        member.goto(f"{base_url}/admin/")
        shot(member, "01-member-refused")
        member.close()

        page = browser.new_page(viewport={"width": 1440, "height": 860})
        sign_in(page, base_url, "moderator")
        shot(page, "02-index")

        page.goto(f"{base_url}/admin/chat/message/")
        shot(page, "03-messages", full_page=True)
        run_action(page, edited[:40], "tombstone_selected")
        shot(page, "04-messages-tombstoned", full_page=True)

        page.goto(f"{base_url}/admin/chat/message/?deleted=yes")
        page.locator("#result_list tbody tr th a").first.click()
        page.wait_for_load_state()
        shot(page, "05-message-history", full_page=True)

        page.goto(f"{base_url}/admin/accounts/user/")
        run_action(page, "carol", "deactivate_selected")
        shot(page, "06-users-deactivated", full_page=True)

        page.goto(f"{base_url}/admin/chat/channel/")
        run_action(page, "random", "archive_selected")
        shot(page, "07-channels-archived", full_page=True)

        page.goto(f"{base_url}/admin/chat/channel/")
        page.locator("#result_list tbody tr th a", has_text="staff").click()
        page.wait_for_load_state()
        shot(page, "08-channel-members", full_page=True)

        page.goto(f"{base_url}/admin/chat/auditentry/")
        shot(page, "09-audit-log", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
