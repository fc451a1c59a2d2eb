"""Search in the browser: "/" to the box, results with marks, a click to the message in its
room, highlighted, with newer messages loading below; axe-clean in light and dark, 360 px.

With SCREENSHOT_DIR set, the test also saves the pictures of docs/images/search-*.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import post

MOBILE = {"width": 360, "height": 740}


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.fixture
def history(people: dict[str, Any]) -> dict[str, Any]:
    """general with 80 messages; the 41st mentions the deployment runbook."""
    alice, bob, general = people["alice"], people["bob"], people["general"]
    messages = []
    for n in range(80):
        author = alice if n % 2 else bob
        text = f"Status update {n}: all quiet"
        if n == 40:
            text = "The deployment runbook is at https://wiki.example.com/ops/deploy-runbook"
        if n == 50:
            text = "Has anyone tried <script>alert(1)</script> in the deploy log viewer?"
        messages.append(post(author, general, text))
    return {**people, "messages": messages}


def test_search_from_the_header_then_jump_to_the_message(
    site: Site, history: dict[str, Any]
) -> None:
    page = site.page(history["bob"], "/")
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_focused()
    box.fill("runbook")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Results for “runbook”")).to_be_visible()
    result = page.locator(".search-result").filter(has_text="deployment runbook")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text(["runbook", "runbook"])
    _shot(page, "search-desktop")
    result.get_by_role("link").click()

    target = history["messages"][40]
    expect(page).to_have_url(f"{site.url}/channels/general/?m={target.pk}#m-{target.pk}")
    highlighted = page.locator(f"#m-{target.pk}")
    expect(highlighted).to_have_class(re.compile(r"\bmessage-highlight\b"))
    expect(highlighted).to_be_in_viewport()
    _shot(page, "search-jump")
    log = page.get_by_role("log")
    # Newer messages load as one scrolls down, older ones with the room's own button.
    expect(page.get_by_role("link", name="Load newer messages")).to_be_visible()
    log.evaluate("log => { log.scrollTop = log.scrollHeight; }")
    last = history["messages"][-1]
    expect(log.locator(f"#m-{last.pk}")).to_have_count(1)
    expect(page.get_by_role("link", name="Load newer messages")).to_have_count(0)
    page.get_by_role("link", name="Load older messages").click()
    expect(log.locator(f"#m-{history['messages'][0].pk}")).to_have_count(1)
    seqs = [
        int(seq) for seq in log.locator(".message").evaluate_all("n => n.map(m => m.dataset.seq)")
    ]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) == 80


def test_search_results_escape_markup_and_show_filters_as_chips(
    site: Site, history: dict[str, Any]
) -> None:
    page = site.page(history["alice"], "/search/?q=script+from%3Abob")
    result = page.locator(".search-result")
    expect(result).to_have_count(1)
    expect(result.locator(".search-result-text")).to_have_text(
        "Has anyone tried <script>alert(1)</script> in the deploy log viewer?"
    )
    expect(result.locator("mark")).to_have_text(["script", "script"])
    chip = page.get_by_role("list", name="Filters").get_by_role("listitem")
    expect(chip).to_contain_text("from:bob")
    chip.get_by_role("link", name="Remove filter from:bob").click()
    expect(page.get_by_role("heading", name="Results for “script”")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_pages_pass_axe_and_fit_360_px(
    site: Site, history: dict[str, Any], scheme: str
) -> None:
    options: dict[str, Any] = {"bypass_csp": True, "color_scheme": scheme}
    page = site.page(history["bob"], "/search/?q=deploy+has%3Alink", **options)
    expect(page.locator(".search-result")).to_have_count(1)
    assert axe_violations(page) == []
    if scheme == "dark":
        _shot(page, "search-desktop-dark")
    page.goto("/search/?q=nothing-matches-this")
    expect(page.get_by_role("status")).to_contain_text("No messages match")
    assert axe_violations(page) == []
    page.goto("/search/?q=before%3Anot-a-date")
    expect(page.get_by_role("alert")).to_contain_text("YYYY-MM-DD")
    assert axe_violations(page) == []
    target = history["messages"][40]
    page.goto(f"/channels/general/?m={target.pk}")
    expect(page.locator(f"#m-{target.pk}.message-highlight")).to_be_in_viewport()
    assert axe_violations(page) == []

    phone = site.page(
        history["bob"], "/search/?q=status+update+OR+runbook", **options, viewport=MOBILE
    )
    expect(phone.locator(".search-result").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    expect(phone.get_by_role("searchbox", name="Search messages")).to_be_visible()
    if scheme == "light":
        _shot(phone, "search-mobile")
