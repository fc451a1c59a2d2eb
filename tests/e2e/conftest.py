"""Browser fixtures: one headless Debian Chromium per test session, driven by Playwright.

The pages are served by the live Daphne processes of tests/conftest.py (``daphne``), on the
test database; each test's data is committed (``transactional_db``) so they can see it. Never
``playwright install``: the browser is Debian's /usr/bin/chromium (``make test`` installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import load_backend
from django.contrib.auth.backends import ModelBackend
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from tests.factories import ChannelFactory, MembershipFactory, UserFactory

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
AXE_SCRIPT = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Pages answer within milliseconds; live events within a second. Generous, never slept.
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def browser(django_db_setup: None) -> Iterator[Browser]:
    """One Chromium for all of tests/e2e.

    Playwright's sync API runs an event loop in this thread while the browser is open, and
    Django refuses database calls from a thread with a running loop. The tests here are plain
    sync code, so the check is lifted while the browser lives (pytest-django's advice for
    Playwright) and put back as soon as the e2e package is done.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def session_backend() -> str:
    """The configured backend that restores users from sessions (not django-axes' own)."""
    return next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if isinstance(load_backend(path), ModelBackend)
    )


@dataclass
class Site:
    """The live server and what a test needs to act on it as someone."""

    url: str
    browser: Browser
    contexts: list[BrowserContext]
    # Script errors and Content-Security-Policy refusals seen in any page of the test.
    problems: list[str] = field(default_factory=list)

    def context(self, user: Any = None, **options: Any) -> BrowserContext:
        """A fresh browser profile, signed in as ``user`` when given (session cookie)."""
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("base_url", self.url)
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("weberror", lambda error: self.problems.append(f"script error: {error.error}"))
        context.on("console", self._note_console)
        if user is not None:
            client = Client()
            client.force_login(user, backend=session_backend())
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": cookie,
                        "url": options["base_url"],
                    }
                ]
            )
        self.contexts.append(context)
        return context

    def _note_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def page(self, user: Any = None, path: str = "/", **options: Any) -> Page:
        page = self.context(user, **options).new_page()
        page.goto(path)
        return page

    def room(self, user: Any, name: str = "general", **options: Any) -> Page:
        """The room page, once its WebSocket is connected and caught up."""
        page = self.page(user, f"/channels/{name}/", **options)
        expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
        # The replay asked for on welcome is in: the log is no longer busy.
        expect(page.get_by_role("log")).to_have_attribute("aria-busy", "false")
        return page

    def channel_list(self, user: Any) -> Page:
        """The channel list, once its WebSocket is connected (badges count live from here)."""
        page = self.page(user, "/")
        expect(page.locator("[data-chat-page][data-connection='online']")).to_have_count(1)
        return page


@pytest.fixture
def site(browser: Browser, daphne: Any) -> Iterator[Site]:
    site = Site(url=daphne.url, browser=browser, contexts=[])
    yield site
    for context in site.contexts:
        context.close()
    assert site.problems == [], "the pages logged script errors or CSP refusals"


@pytest.fixture
def people(transactional_db: None) -> dict[str, Any]:
    """alice and bob, both members of the public channel ``general``."""
    alice = UserFactory.create(username="alice", display_name="Alice")
    bob = UserFactory.create(username="bob", display_name="Bob")
    general = ChannelFactory.create(name="general", title="General", topic="Anything goes")
    MembershipFactory.create(channel=general, user=alice, role="owner")
    MembershipFactory.create(channel=general, user=bob)
    return {"alice": alice, "bob": bob, "general": general}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page for WCAG 2.0/2.1 A and AA; the violations it reports."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: `make test` runs `npm ci` in tests/e2e")
    page.add_script_tag(path=str(AXE_SCRIPT))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "nodes": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
    ]
