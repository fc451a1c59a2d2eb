"""Take the screenshots of the notification pages (docs/web.md, "Notifications").

Run against a server with the demo data and VAPID keys set (`make run` with
VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY from `manage.py generate_vapid_keys`):

    .venv/bin/python scripts/notification_screenshots.py --base-url http://127.0.0.1:8000 \\
        --unsubscribe-path /notifications/unsubscribe/<token>/

It signs in as bob and saves the notification settings page (desktop, 360 px, dark) and the
unsubscribe page; nothing is changed on the server.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, signed_in
from playwright.sync_api import expect, sync_playwright
from screenshot_browser import launch, save_shot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--unsubscribe-path", default="")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "chatsite-shots")
    options = parser.parse_args()
    base_url = options.base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for name, viewport, scheme in [
            ("notifications-desktop", DESKTOP, "light"),
            ("notifications-360", MOBILE, "light"),
            ("notifications-dark", DESKTOP, "dark"),
        ]:
            page = signed_in(browser, base_url, "bob", viewport=viewport, color_scheme=scheme)
            page.goto("/accounts/notifications/")
            expect(page.locator("[data-push-status]")).not_to_have_text("Checking this browser…")
            save_shot(page, options.out, name, full_page=True)
            if options.unsubscribe_path:
                page.goto(options.unsubscribe_path)
                save_shot(page, options.out, name.replace("notifications", "unsubscribe"))
        browser.close()


if __name__ == "__main__":
    main()
