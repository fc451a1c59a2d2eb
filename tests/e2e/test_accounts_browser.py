"""The account lifecycle in Chromium against live Daphne processes, with the mails received by
a real SMTP server (aiosmtpd) and single sign-on through a real OpenID Connect provider
(node-oidc-provider, tests/e2e/oidc_provider.mjs), both started here on 127.0.0.1.

The servers run as production does, with invitation-only sign-up (the default), mandatory
email verification, EMAIL_URL pointing at the SMTP server and OIDC_* at the provider.
"""

from __future__ import annotations

import email
import email.policy
import queue
import re
import subprocess
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from accounts import services
from accounts.models import User
from tests import live
from tests.e2e.conftest import Site, axe_violations
from tests.factories import PASSWORD, ChannelFactory, MembershipFactory, UserFactory

HERE = Path(__file__).parent
MAIL_TIMEOUT_S = 15
OIDC_CLIENT_ID = "chatsite-test"
OIDC_CLIENT_SECRET = "a-client-secret-for-the-test-provider"
NEW_PASSWORD = "a-brand-new-pass-phrase"
MOBILE = {"width": 360, "height": 740}


class Inbox:
    """aiosmtpd handler: every message the site sends, in arrival order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.put(message)
        return "250 Message accepted for delivery"

    def next_to(self, address: str) -> EmailMessage:
        """The next message to ``address`` (others are dropped), within MAIL_TIMEOUT_S."""
        while True:
            try:
                message = self.messages.get(timeout=MAIL_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"no mail to {address} within {MAIL_TIMEOUT_S} s") from None
            if address.lower() in str(message["To"]).lower():
                return message


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"http://127\.0\.0\.1:\d+{re.escape(path)}\S+", body.get_content())
    assert found is not None, body.get_content()
    return found.group(0)


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox(live.free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def oidc_port() -> int:
    return live.free_port()


@pytest.fixture(scope="module")
def account_servers(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    inbox: Inbox,
    oidc_port: int,
) -> Iterator[list[live.LiveServer]]:
    """Two Daphne processes with mail, verification and single sign-on configured."""
    from django.db import connection

    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        # Its own cache keys: allauth spaces the mails to one address by a cooldown kept there.
        prefix=f"chatsite-accounts-e2e-{uuid.uuid4().hex[:8]}",
        extra={
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            "EMAIL_FROM": "chatsite <chat@example.com>",
            "CHAT_REQUIRE_EMAIL_VERIFICATION": "1",
            "CHAT_AUTH_RATE": "1000/min",
            "OIDC_NAME": "Example SSO",
            "OIDC_SERVER_URL": f"http://127.0.0.1:{oidc_port}",
            "OIDC_CLIENT_ID": OIDC_CLIENT_ID,
            "OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET,
        },
    )
    servers = live.start_servers(1, log_dir=tmp_path_factory.mktemp("daphne-accounts"), env=env)
    yield servers
    live.stop_servers(servers)


@pytest.fixture(scope="module")
def oidc_provider(account_servers: list[live.LiveServer], oidc_port: int) -> Iterator[str]:
    """node-oidc-provider, its one client redirecting to the live servers' callback."""
    callbacks = [f"{server.url}/accounts/oidc/oidc/login/callback/" for server in account_servers]
    process = subprocess.Popen(
        [
            "node",
            str(HERE / "oidc_provider.mjs"),
            str(oidc_port),
            OIDC_CLIENT_ID,
            OIDC_CLIENT_SECRET,
            *callbacks,
        ],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(b"ready"):
            break
    else:
        raise RuntimeError("the OpenID Connect provider did not start")
    yield f"http://127.0.0.1:{oidc_port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def account_site(
    browser: Browser, account_servers: list[live.LiveServer], transactional_db: None
) -> Iterator[Site]:
    site = Site(url=account_servers[0].url, browser=browser, contexts=[])
    yield site
    for context in site.contexts:
        context.close()
    assert site.problems == [], "the pages logged script errors or CSP refusals"


def open_page(site: Site, user: Any, path: str, **options: Any) -> Page:
    """A page in a fresh profile; axe-core is injected as a script, so these bypass the CSP
    (the single sign-on test keeps it, as its redirect to the provider must pass it)."""
    return site.page(user, path, bypass_csp=True, **options)


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def verified_user(username: str) -> User:
    user = UserFactory.create(username=username, email=f"{username}@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def test_an_invited_person_signs_up_verifies_by_mail_and_logs_in(
    account_site: Site, inbox: Inbox
) -> None:
    inviter = UserFactory.create(role="moderator")
    _, token = services.invitation_create(actor=inviter, max_uses=1)
    page = open_page(account_site, None, f"/accounts/invite/{token}/")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_label("Password").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert_accessible(page)

    # Not before the address is verified.
    log_in(page, "dora", "a-long-pass-phrase")
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    link = link_in(inbox.next_to("dora@example.com"), "/accounts/confirm-email/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm").click()
    log_in(page, "dora", "a-long-pass-phrase")
    expect(page).to_have_url(f"{account_site.url}/")
    expect(page.locator(".whoami")).to_contain_text("dora")

    # The link is spent: the next visitor is told so.
    other = open_page(account_site, None, f"/accounts/invite/{token}/")
    expect(other.get_by_role("heading", name="This invitation has been used up")).to_be_visible()
    assert_accessible(other)


def test_a_forgotten_password_is_reset_by_mail_once(account_site: Site, inbox: Inbox) -> None:
    verified_user("erin")
    page = open_page(account_site, None, "/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("ERIN@example.com")
    page.get_by_role("button", name="Reset My Password").click()
    link = link_in(inbox.next_to("erin@example.com"), "/accounts/password/reset/key/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    page.get_by_label("New Password", exact=True).fill("123")
    page.get_by_label("New Password (again)").fill("123")
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_text("too short")).to_be_visible()  # Django's validators, on the page
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_text("Your password is now changed.")).to_be_visible()

    log_in(page, "erin", NEW_PASSWORD)
    expect(page).to_have_url(f"{account_site.url}/")
    # The link works once.
    again = open_page(account_site, None, link)
    expect(again.get_by_role("heading", name="Bad Token")).to_be_visible()


def test_log_out_everywhere_closes_the_other_browsers_open_chat(account_site: Site) -> None:
    frank = verified_user("frank")
    general = ChannelFactory.create(name="general", title="General")
    MembershipFactory.create(channel=general, user=frank)
    room = account_site.room(frank)
    settings_page = open_page(account_site, frank, "/accounts/profile/")
    settings_page.get_by_role("link", name="Log out everywhere").click()
    assert_accessible(settings_page)
    settings_page.get_by_role("button", name="Log out everywhere").click()
    expect(settings_page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(room.get_by_role("status").filter(has_text="your session has ended")).to_be_visible()
    room.reload()
    expect(room.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_password_change_keeps_this_browser_and_ends_the_others(account_site: Site) -> None:
    grace = verified_user("grace")
    elsewhere = open_page(account_site, grace, "/")
    page = open_page(account_site, grace, "/accounts/password/change/")
    assert_accessible(page)
    page.get_by_label("Current Password").fill(PASSWORD)
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_text("Password successfully changed.")).to_be_visible()
    page.goto("/")
    expect(page.locator(".whoami")).to_be_visible()
    elsewhere.reload()
    expect(elsewhere.get_by_role("heading", name="Log in")).to_be_visible()


def test_an_email_change_waits_for_the_new_address_to_be_verified(
    account_site: Site, inbox: Inbox
) -> None:
    heidi = verified_user("heidi")
    page = open_page(account_site, heidi, "/accounts/email/")
    assert_accessible(page)
    page.get_by_label("Change to").fill("heidi.new@example.com")
    page.get_by_role("button", name="Change Email").click()
    link = link_in(inbox.next_to("heidi.new@example.com"), "/accounts/confirm-email/")
    heidi.refresh_from_db()
    assert heidi.email == "heidi@example.com"  # not before it is verified
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("heidi.new@example.com").first).to_be_visible()
    heidi.refresh_from_db()
    assert heidi.email == "heidi.new@example.com"


def test_the_display_name_is_changed_on_the_account_page(account_site: Site) -> None:
    ivan = verified_user("ivan")
    page = open_page(account_site, ivan, "/accounts/profile/", viewport=MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    assert_accessible(page)
    page.get_by_label("Display name").fill("Ivan the Terrible")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your display name was saved.")).to_be_visible()
    expect(page.locator(".whoami")).to_contain_text("Ivan the Terrible")


def test_sign_in_with_the_openid_connect_provider(account_site: Site, oidc_provider: str) -> None:
    assert_accessible(open_page(account_site, None, "/accounts/login/"))
    page = account_site.page(None, "/accounts/login/")
    page.get_by_role("button", name="Sign in with Example SSO").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_provider)}/"))
    page.locator("input[name=login]").fill("judy")
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{account_site.url}/")
    expect(page.locator(".whoami")).to_contain_text("judy")
    user = User.objects.get(username="judy")
    assert user.email == "judy@sso.example"
    assert user.socialaccount_set.get().uid == "judy"  # type: ignore[attr-defined]
