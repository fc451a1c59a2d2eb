"""The account page's "Export my data" in Chromium: the button, the status while a real
worker process builds the archive, the download link, light, dark and 360 px, axe-checked."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from chat import services
from chatsite import rls
from exports.models import UserExport
from tests.e2e.conftest import Site, axe_violations
from tests.worker_support import start_worker, wait_for

pytestmark = pytest.mark.e2e
MOBILE = {"width": 360, "height": 740}


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_export_my_data_from_the_account_page(
    site: Site, people: dict[str, Any], tmp_path: Path
) -> None:
    alice = people["alice"]
    services.message_create(user=alice, channel_id=people["general"].pk, content="for the zip")
    page = site.page(alice, "/accounts/profile/", bypass_csp=True)  # for axe
    expect(page.get_by_role("heading", name="Your data", level=2)).to_be_visible()
    page.get_by_role("button", name="Export my data").click()
    expect(page.get_by_text("Your export is being prepared.")).to_be_visible()
    expect(page.locator("#export-status")).to_contain_text("is being prepared")
    assert axe_violations(page) == []

    worker = start_worker(tmp_path)
    try:

        def ready() -> bool:
            with rls.acting_as_service():
                return UserExport.objects.filter(user=alice, status="ready").exists()

        wait_for(ready, message=worker.log)
    finally:
        worker.stop()

    page.reload()
    link = page.get_by_role("link", name="download it")
    expect(link).to_be_visible()
    assert axe_violations(page) == []
    _shot(page, "export-ready-desktop")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("chatsite-export-")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    lines = archive.read("messages/general.jsonl").decode().splitlines()
    assert [json.loads(line)["content"] for line in lines] == ["for the zip"]

    # A second ask the same day is refused, and says so.
    page.get_by_role("button", name="Export my data").click()
    expect(page.get_by_text("You asked for an export recently.")).to_be_visible()

    for scheme, viewport, name in (
        ("dark", {"width": 1280, "height": 800}, "export-ready-dark"),
        ("light", MOBILE, "export-ready-360"),
    ):
        other = site.page(
            alice, "/accounts/profile/", bypass_csp=True, color_scheme=scheme, viewport=viewport
        )
        expect(other.get_by_role("link", name="download it")).to_be_visible()
        assert axe_violations(other) == []
        width = other.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"]
        _shot(other, name)
