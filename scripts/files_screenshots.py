"""Take the screenshots of attachments (docs/web.md, "Files").

Run against a server with fresh demo data (`make run`):

    .venv/bin/python scripts/files_screenshots.py --base-url http://127.0.0.1:8000

It signs in as the demo users, pastes a screenshot and attaches files from the composer,
sends them, and saves the room (desktop, dark, 360 px), the composer with uploads on their
way, and the lightbox. It adds messages to the demo data: run it on a throwaway database.
"""

from __future__ import annotations

import argparse
import base64
import io
from pathlib import Path

from page_screenshots import DESKTOP, MOBILE, open_room, signed_in
from PIL import Image, ImageDraw
from playwright.sync_api import FilePayload, Page, expect, sync_playwright
from screenshot_browser import launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"

PASTE = """
async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "image.png", { type: "image/png" }));
  const options = { clipboardData: data, bubbles: true, cancelable: true };
  document.getElementById("composer-input").dispatchEvent(new ClipboardEvent("paste", options));
}
"""


def chart() -> bytes:
    """A screenshot-like picture: a small bar chart."""
    image = Image.new("RGB", (960, 540), (246, 248, 250))
    draw = ImageDraw.Draw(image)
    for index, height in enumerate([120, 260, 190, 330, 410, 280, 360]):
        left = 80 + index * 120
        draw.rectangle([left, 480 - height, left + 80, 480], fill=(11, 92, 173))
    draw.line([60, 480, 920, 480], fill=(31, 35, 40), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def to_bottom(page: Page) -> None:
    page.locator("#message-log").evaluate("log => { log.scrollTop = log.scrollHeight; }")
    page.wait_for_timeout(300)


def paste(page: Page, data: bytes) -> None:
    page.get_by_role("textbox", name="Message").focus()
    page.evaluate(PASTE, base64.b64encode(data).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(OUT))
    options = parser.parse_args()
    base_url, out = options.base_url.rstrip("/"), Path(options.out)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        bob = signed_in(browser, base_url, "bob", viewport=DESKTOP)
        alice = signed_in(browser, base_url, "alice", viewport=DESKTOP)
        open_room(bob)
        open_room(alice)
        paste(alice, chart())
        chips = alice.get_by_role("list", name="Files to send")
        expect(chips.get_by_role("status")).to_have_text("Ready")
        composer = alice.get_by_role("textbox", name="Message")
        composer.fill("Latency after the fix, p95 per day")
        files: list[FilePayload] = [
            {"name": "deploy-2026-12-04.log", "mimeType": "text/plain", "buffer": b"ok\n" * 1300},
            {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" * 90},
        ]
        alice.locator("#composer-files").set_input_files(files)
        expect(chips.get_by_role("status").filter(has_text="Ready")).to_have_count(3)
        save_shot(alice, out, "files-composer")
        previews = bob.locator("#message-log .attachment-image img")
        before = previews.count()
        composer.press("Enter")
        expect(previews).to_have_count(before + 1)
        bob.wait_for_function(
            "() => [...document.querySelectorAll('.attachment-image img')]"
            ".every((img) => img.complete && img.naturalWidth > 0)"
        )
        bob.mouse.move(5, 5)
        to_bottom(bob)
        save_shot(bob, out, "files-desktop")
        bob.locator("#message-log .attachment-image").first.click()
        expect(bob.get_by_role("dialog")).to_be_visible()
        bob.wait_for_timeout(300)
        save_shot(bob, out, "files-lightbox")
        dark = signed_in(browser, base_url, "carol", viewport=DESKTOP, color_scheme="dark")
        open_room(dark)
        to_bottom(dark)
        save_shot(dark, out, "files-desktop-dark")
        phone = signed_in(browser, base_url, "alice", viewport=MOBILE)
        open_room(phone)
        to_bottom(phone)
        save_shot(phone, out, "files-mobile")
        browser.close()


if __name__ == "__main__":
    main()
