"""Take screenshots of bot messages in the room: an incoming webhook's alerts (with the name
and emoji its caller chose) and a bot token's post, each with its Bot badge (docs/integrations.md).

Run against a throwaway server with fresh demo data (`make run`), after making a hook and a
bot token there (the demo user alice owns #general):

    .venv/bin/python scripts/integration_screenshots.py --base-url http://127.0.0.1:8000 \\
        --hook-url http://127.0.0.1:8000/api/hooks/csh_… --bot-token csb_… --out /tmp/shots
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, signed_in
from playwright.sync_api import Page, expect, sync_playwright
from screenshot_browser import launch, save_shot


def _post(url: str, body: dict[str, object], token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - a URL the operator gave
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def to_bottom(page: Page) -> None:
    page.locator("#message-log").evaluate("log => { log.scrollTop = log.scrollHeight; }")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--hook-url", required=True)
    parser.add_argument("--bot-token", required=True)
    parser.add_argument("--channel-id", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(alice)
        toggle = alice.locator('[data-panel-toggle="members"]')
        if toggle.get_attribute("aria-expanded") == "true":
            toggle.click()
        _post(
            args.hook_url,
            {
                "text": "**Build #512 failed** on `main` for @alice",
                "username": "Jenkins",
                "icon_emoji": ":construction:",
                "attachments": [{"text": "3 tests failed in tests/contract"}],
            },
        )
        _post(args.hook_url, {"text": "Disk at 91% on *db-1*", "username": "Monitoring",
                              "icon_emoji": ":fire:"})  # fmt: skip
        _post(
            f"{base_url}/api/chat/messages/",
            {"channel_id": args.channel_id, "content": "Deployed **v2.3.1** :rocket:"},
            args.bot_token,
        )
        log = alice.get_by_role("log")
        deployed = log.locator("article.message", has_text="Deployed").last
        expect(deployed.locator(".badge-bot")).to_be_visible()
        alice.mouse.move(5, 5)
        to_bottom(alice)
        save_shot(alice, args.out, "bots-desktop")
        dark = signed_in(browser, base_url, "bob", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        dark.mouse.move(5, 5)
        to_bottom(dark)
        save_shot(dark, args.out, "bots-desktop-dark")
        phone = signed_in(browser, base_url, "alice", viewport=MOBILE)
        open_room(phone)
        to_bottom(phone)
        save_shot(phone, args.out, "bots-mobile")
        browser.close()


if __name__ == "__main__":
    main()
