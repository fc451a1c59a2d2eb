"""Files in a real Chromium: a pasted screenshot uploads with a progress chip and reaches the
other person live as a preview; the lightbox by keyboard; the attach button and its chips;
axe on all of it."""

from __future__ import annotations

import base64
import re
from typing import Any

from playwright.sync_api import FilePayload, Page, expect

from files.models import Upload
from tests.e2e.conftest import Site, axe_violations
from tests.files_support import image_bytes

PASTE = """
async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "image.png", { type: "image/png" }));
  const options = { clipboardData: data, bubbles: true, cancelable: true };
  const event = new ClipboardEvent("paste", options);
  document.getElementById("composer-input").dispatchEvent(event);
}
"""


def _scripts(page: Page) -> set[str]:
    """The scripts the page has fetched so far, by file name."""
    names = page.evaluate("performance.getEntriesByType('resource').map((entry) => entry.name)")
    return {name.rsplit("/", 1)[-1] for name in names if name.endswith(".js")}


def _paste_image(page: Page, data: bytes) -> None:
    page.get_by_role("textbox", name="Message").focus()
    page.evaluate(PASTE, base64.b64encode(data).decode())


def test_a_pasted_screenshot_reaches_the_other_person_live_as_a_preview(
    site: Site, people: dict[str, Any]
) -> None:
    # bypass_csp: only so that axe can be injected; the pages' own scripts run under the CSP.
    alice = site.room(people["alice"], bypass_csp=True)
    bob = site.room(people["bob"], bypass_csp=True, color_scheme="dark")
    # The upload and lightbox modules are not part of the room's first load (docs/web.md).
    assert "composer.js" in _scripts(alice)
    assert not {"uploads.js", "lightbox.js"} & (_scripts(alice) | _scripts(bob))
    _paste_image(alice, image_bytes("PNG", size=(640, 400)))
    chips = alice.get_by_role("list", name="Files to send")
    expect(chips.get_by_role("listitem")).to_have_count(1)
    expect(chips.get_by_role("status")).to_have_text("Ready")
    expect(chips).to_contain_text("Screenshot")
    assert "uploads.js" in _scripts(alice)
    assert axe_violations(alice) == []

    alice.get_by_role("textbox", name="Message").press("Enter")
    expect(chips).to_be_hidden()
    preview = bob.locator("#message-log .attachment-image img")
    expect(preview).to_have_count(1)
    expect(preview).to_have_attribute("alt", re.compile(r"^Screenshot [0-9-]+ [0-9.]+\.png$"))
    # The preview is the thumbnail, loaded with bob's own session.
    bob.wait_for_function(
        "() => document.querySelector('#message-log .attachment-image img').naturalWidth > 0"
    )
    assert (
        bob.evaluate(
            "() => document.querySelector('#message-log .attachment-image img').naturalWidth"
        )
        == 640
    )
    expect(alice.locator("#message-log .attachment-image img")).to_have_count(1)
    upload = Upload.objects.get()
    assert upload.message is not None and upload.content_type == "image/png"

    # The lightbox by keyboard: Enter on the preview opens it, Esc closes it, focus returns.
    link = bob.locator("#message-log .attachment-image")
    link.focus()
    bob.keyboard.press("Enter")
    lightbox = bob.get_by_role("dialog")
    expect(lightbox).to_be_visible()
    assert "lightbox.js" in _scripts(bob) and "uploads.js" not in _scripts(bob)
    expect(lightbox.get_by_role("img")).to_have_attribute("src", upload_url(upload))
    expect(lightbox.get_by_role("button", name="Close")).to_be_focused()
    assert axe_violations(bob) == []
    bob.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(link).to_be_focused()
    assert axe_violations(bob) == []


def upload_url(upload: Upload) -> str:
    return f"/api/chat/uploads/{upload.pk}/content"


def test_the_attach_button_uploads_files_and_a_chip_takes_one_back(
    site: Site, people: dict[str, Any]
) -> None:
    alice = site.room(people["alice"])
    files: list[FilePayload] = [
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"remember the milk\n"},
        {"name": "fake.png", "mimeType": "image/png", "buffer": b"%PDF-1.4 not a png"},
    ]
    alice.locator("#composer-files").set_input_files(files)
    chips = alice.get_by_role("list", name="Files to send").get_by_role("listitem")
    expect(chips).to_have_count(2)
    expect(chips.nth(0).get_by_role("status")).to_have_text("Ready")
    # The server read the bytes: the refusal is shown on the chip.
    expect(chips.nth(1).get_by_role("status")).to_contain_text("bytes are")
    chips.nth(1).get_by_role("button", name="Remove fake.png").click()
    expect(chips).to_have_count(1)
    composer = alice.get_by_role("textbox", name="Message")
    composer.fill("the list")
    composer.press("Enter")
    chip = alice.locator("#message-log .attachment-file")
    expect(chip).to_contain_text("notes.txt")
    expect(chip).to_contain_text("18\u00a0bytes")
    expect(chip).to_have_attribute("download", "notes.txt")
    assert Upload.objects.count() == 1
