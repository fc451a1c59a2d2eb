"""The notification settings page in Chromium: the email switch, the push control, the service
worker at /sw.js showing a push and opening its message (docs/web.md, "Notifications")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from chatsite import rls
from notifications import push
from notifications.models import NotificationPreference
from tests import live
from tests.e2e.conftest import Site, axe_violations

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def push_daphne(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[live.LiveServer]:
    """A Daphne with VAPID keys, so the page offers push."""
    from django.db import connection

    public, private = push.generate_keys()
    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url,
        redis_url=settings.REDIS_URL,
        prefix="chatsite-test-push-browser",
        extra={"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private},
    )
    servers = live.start_servers(1, log_dir=tmp_path_factory.mktemp("push-browser"), env=env)
    yield servers[0]
    live.stop_servers(servers)


@pytest.fixture
def push_site(
    browser: Browser, push_daphne: live.LiveServer, transactional_db: None
) -> Iterator[Site]:
    site = Site(url=push_daphne.url, browser=browser, contexts=[])
    yield site
    for context in site.contexts:
        context.close()
    assert site.problems == [], "the pages logged script errors or CSP refusals"


def test_the_settings_page_turns_email_off_and_offers_push(
    push_site: Site, people: dict[str, Any]
) -> None:
    bob = people["bob"]
    page = push_site.page(bob, "/accounts/notifications/", bypass_csp=True)  # for axe
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Push notifications are off")).to_be_visible()
    expect(page.get_by_role("button", name="Enable push notifications")).to_be_visible()
    assert axe_violations(page) == []
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{push_site.url}/"
    checkbox = page.get_by_label("Email me about direct messages and mentions I have not read")
    expect(checkbox).to_be_checked()
    checkbox.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your notification settings were saved.")).to_be_visible()
    expect(checkbox).not_to_be_checked()
    with rls.acting_as_service():
        assert NotificationPreference.objects.get(user=bob).email_enabled is False


def test_the_service_worker_shows_a_push_and_a_click_opens_its_message(
    push_site: Site, people: dict[str, Any]
) -> None:
    bob = people["bob"]
    context = push_site.context(bob)
    context.grant_permissions(["notifications"], origin=push_site.url)
    page = context.new_page()
    page.goto("/accounts/notifications/")
    page.evaluate("navigator.serviceWorker.ready")
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    # DevTools reports the registrations it knows as events: wait for the site's.
    for _ in range(100):
        found = [r for r in registrations if r["scopeURL"] == f"{push_site.url}/"]
        if found:
            break
        page.wait_for_timeout(100)
    assert found, registrations
    registration = found[0]
    target = f"{push_site.url}/channels/general/?m=0b9f"
    data = (
        '{"title": "Alice in General", "body": "@bob the deploy is done", '
        f'"url": "{target}", "tag": "message-0b9f", "kind": "user"}}'
    )
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": push_site.url, "registrationId": registration["registrationId"], "data": data},
    )
    page.wait_for_function(
        "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.length === 1)"
    )
    shown = page.evaluate(
        """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n =>
             ({title: n[0].title, body: n[0].body, tag: n[0].tag, url: n[0].data.url}))"""
    )
    assert shown == {
        "title": "Alice in General",
        "body": "@bob the deploy is done",
        "tag": "message-0b9f",
        "url": target,
    }
