"""Bots in the room (docs/integrations.md): a webhook's message arrives live with the name and
emoji its caller chose and a Bot badge, in light and dark mode, axe-clean."""

from __future__ import annotations

import contextvars
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django import db
from playwright.sync_api import expect

from chatsite import rls
from integrations import services
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message, post


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_a_hook_message_arrives_live_marked_as_a_bots(
    site: Site, people: dict[str, Any], color_scheme: str
) -> None:
    alice, general = people["alice"], people["general"]
    post(people["bob"], general, "before the alert")

    def _make_hook() -> str:
        try:
            with rls.acting_as_user(alice):
                return services.hook_create(actor=alice, channel_id=general.pk, name="CI")[1]
        finally:
            db.connection.close()

    # In a worker thread, as tests.e2e.test_room_browser.post explains.
    with ThreadPoolExecutor(max_workers=1) as pool:
        token = pool.submit(contextvars.copy_context().run, _make_hook).result()
    # bypass_csp: axe is injected as an inline script (as tests/e2e/test_layout_browser.py).
    page = site.room(alice, color_scheme=color_scheme, bypass_csp=True)
    expect(message(page, "before the alert").locator(".badge-bot")).to_be_hidden()
    for text, name in (("Build 512 failed", "Jenkins"), ("Disk at 91%", "Monitoring")):
        payload = {"text": text, "username": name, "icon_emoji": ":fire:"}
        request = urllib.request.Request(  # noqa: S310 - the live test server
            f"{site.url}/api/hooks/{token}/",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
    for text, name in (("Build 512 failed", "Jenkins"), ("Disk at 91%", "Monitoring")):
        shown = message(page, text)
        expect(shown.locator(".message-author")).to_have_text(name)
        expect(shown.locator(".badge-bot")).to_be_visible()
        expect(shown.locator(".badge-bot")).to_have_text("Bot")
        expect(shown.locator(".avatar")).to_have_text("🔥")
    assert axe_violations(page) == []
    # After a reload the server renders the same.
    page.reload()
    expect(message(page, "Disk at 91%").locator(".message-author")).to_have_text("Monitoring")
    expect(message(page, "Disk at 91%").locator(".badge-bot")).to_be_visible()
    assert site.problems == []
