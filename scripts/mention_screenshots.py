"""Take the screenshots of mentions and notifications (docs/web.md, "Notifications").

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/mention_screenshots.py --base-url http://127.0.0.1:8000 \
        --out /tmp/shots

alice mentions bob in #general and calls @channel while bob reads another room (the demo
data's direct messages add their unread counts); it saves bob's room with the mention pills
and the title count, the mentions page and the room's notification settings (desktop, dark,
360 px). It adds messages to the demo data: run it on a throwaway database.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, send, signed_in
from playwright.sync_api import expect, sync_playwright
from screenshot_browser import launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(alice, "general")
        stamp = time.strftime("%H:%M:%S")  # the script may run again on the same data
        send(alice, f"@bob can you review the deploy checklist before 3pm? ({stamp})")
        send(alice, f"@channel standup moves to 10:30 tomorrow ({stamp})")
        views = {
            "desktop": signed_in(browser, base_url, "bob", viewport=DESKTOP),
            "dark": signed_in(browser, base_url, "bob", viewport=DESKTOP, color_scheme="dark"),
            "mobile": signed_in(browser, base_url, "bob", viewport=MOBILE),
        }
        for name, page in views.items():
            open_room(page, "random")
            pill = page.locator(".conversation[data-name='general'] [data-mentions]")
            expect(pill).not_to_have_attribute("data-mentions", "0")
            if name == "mobile":
                page.get_by_role("button", name="Conversations").click()
            page.mouse.move(5, 5)
            save_shot(page, args.out, f"mentions-sidebar-{name}")
            page.goto("/mentions/")
            expect(page.locator(".mention-item").first).to_be_visible()
            save_shot(page, args.out, f"mentions-page-{name}")
        room = views["desktop"]
        open_room(room, "general")
        expect(room.get_by_role("group", name="Notify me about")).to_be_visible()
        room.get_by_role("checkbox", name="Mute this channel").check()
        save_shot(room, args.out, "mentions-settings-desktop")
        room.get_by_role("checkbox", name="Mute this channel").uncheck()
        browser.close()


if __name__ == "__main__":
    main()
