"""Claiming an imported account in Chromium against a live Daphne, the mail received by a real
SMTP server (aiosmtpd) and its link followed; axe-checked at 1280 px, at 360 px and dark
(docs/integrations.md, "Moving in from Slack"). With SCREENSHOT_DIR set, the pages are saved
there."""

from __future__ import annotations

import email
import email.policy
import io
import os
import queue
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from tests import live
from tests import slack_export as sx
from tests.e2e.conftest import Site, axe_violations

NEW_PASSWORD = "a-brand-new-pass-phrase"
MOBILE = {"width": 360, "height": 740}


class Inbox:
    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.put(message)
        return "250 Message accepted for delivery"

    def link(self) -> str:
        message = self.messages.get(timeout=15)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found = re.search(r"https?://\S+/accounts/claim/\S+/", body.get_content())
        assert found is not None
        return found.group(0)


@pytest.fixture(scope="module")
def inbox_port() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), live.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def claim_server(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    inbox_port: tuple[Inbox, int],
) -> Iterator[live.LiveServer]:
    from django.db import connection

    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        prefix=f"chatsite-claim-e2e-{uuid.uuid4().hex[:8]}",
        extra={"EMAIL_URL": f"smtp://127.0.0.1:{inbox_port[1]}",
               "CHAT_SITE_URL": "http://chat.example"},
    )  # fmt: skip
    servers = live.start_servers(1, log_dir=tmp_path_factory.mktemp("daphne-claim"), env=env)
    yield servers[0]
    live.stop_servers(servers)


@pytest.fixture
def claim_site(
    browser: Browser, claim_server: live.LiveServer, transactional_db: None, tmp_path: Path
) -> Iterator[Site]:
    users = [sx.user("U01", "Maria Lopez", "maria@example.com")]
    channels = [sx.channel("C01", "general", ["U01"])]
    history = {"general": [sx.message("U01", "hola *team*", sx.ts(1))]}
    path = sx.write_export(tmp_path / "e.zip", users=users, channels=channels, messages=history)
    call_command("import_slack", str(path), stdout=io.StringIO())
    site = Site(url=claim_server.url, browser=browser, contexts=[])
    yield site
    for context in site.contexts:
        context.close()
    assert site.problems == [], "the pages logged script errors or CSP refusals"


def _check(page: Page, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("label", "options"),
    [
        ("desktop", {}),
        ("mobile", {"viewport": MOBILE}),
        ("dark", {"color_scheme": "dark"}),
    ],
)
def test_an_imported_person_claims_the_account_and_reads_the_history(
    claim_site: Site, inbox_port: tuple[Inbox, int], label: str, options: dict[str, Any]
) -> None:
    page = claim_site.page(None, "/accounts/login/", bypass_csp=True, **options)
    page.get_by_role("link", name="Claim your imported account").click()
    expect(page.get_by_role("heading", name="Claim your imported account")).to_be_visible()
    _check(page, f"claim-request-{label}")
    page.get_by_label("Email address").fill("Maria@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    _check(page, f"claim-sent-{label}")
    link = inbox_port[0].link()
    assert link.startswith("http://chat.example/")
    page.goto(link.removeprefix("http://chat.example"))
    expect(page.get_by_text("You are claiming the account maria-lopez")).to_be_visible()
    _check(page, f"claim-password-{label}")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Claim the account").click()
    expect(page.get_by_text("your account is ready")).to_be_visible()
    page.get_by_label("Username").fill("maria-lopez")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/channels/general/")
    expect(page.locator(".message").filter(has_text="hola team").first).to_be_visible()
