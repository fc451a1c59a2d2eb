"""What the screenshot scripts share: the Chromium they drive, the demo password, saving a
picture. Imported by scripts/page_screenshots.py and scripts/moderation_screenshots.py."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PASSWORD = os.environ.get("SEED_PASSWORD", "chatsite-demo")


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless (never a browser build of Playwright's own)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def save_shot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
    print(f"saved {folder / name}.png")
