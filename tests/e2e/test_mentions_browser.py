"""Mentions and desktop notifications in a real Chromium: bob, in another room with the tab
hidden, gets a Notification for alice's @bob and lands on the message by clicking it; the
sidebar's mention pill and the page title count live; the mentions page, the room's
notification settings and the permission prompt; axe in light and dark, and 360 px."""

from __future__ import annotations

import contextvars
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django import db
from playwright.sync_api import Page, expect

from chat import services
from chat.models import Membership
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import post
from tests.factories import ChannelFactory, MembershipFactory

MOBILE = {"width": 360, "height": 740}

# Wraps the real Notification constructor (it still runs) to record each call, and lets the
# test say when the tab is hidden: headless Chromium's own tab is always "visible".
INIT_SCRIPT = """
(() => {
  window.__notifications = [];
  window.__hidden = false;
  const Real = window.Notification;
  if (Real) {
    function Recorded(title, options) {
      const made = new Real(title, options);
      window.__notifications.push({ title, body: (options || {}).body, tag: (options || {}).tag });
      window.__notificationObjects = (window.__notificationObjects || []).concat([made]);
      return made;
    }
    Recorded.prototype = Real.prototype;
    Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
    Recorded.requestPermission = (...args) => Real.requestPermission(...args);
    window.Notification = Recorded;
  }
  Object.defineProperty(document, "visibilityState", {
    configurable: true,
    get: () => (window.__hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
})();
"""


def in_worker(function: Any, **kwargs: Any) -> Any:
    """Call a service where its on-commit events can go out (as ``post`` does)."""

    def _call() -> Any:
        try:
            return function(**kwargs)
        finally:
            db.connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, _call).result()


def set_hidden(page: Page, hidden: bool) -> None:
    page.evaluate(
        "hidden => { window.__hidden = hidden;"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def sidebar_item(page: Page, name: str) -> Any:
    return page.get_by_role("navigation", name="Conversations").locator(
        f".conversation[data-name='{name}']"
    )


@pytest.fixture
def rooms(people: dict[str, Any]) -> dict[str, Any]:
    random = ChannelFactory.create(name="random")
    MembershipFactory.create(channel=random, user=people["bob"])
    MembershipFactory.create(channel=random, user=people["alice"])
    return {**people, "random": random}


def bob_in_random(site: Site, rooms: dict[str, Any], **options: Any) -> Page:
    # The init script is the test's own, injected inline: the page's policy would refuse it.
    context = site.context(rooms["bob"], permissions=["notifications"], bypass_csp=True, **options)
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.goto("/channels/random/")
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    expect(page.get_by_role("log")).to_have_attribute("aria-busy", "false")
    return page


def test_a_hidden_tab_notifies_a_mention_and_the_click_opens_the_message(
    site: Site, rooms: dict[str, Any]
) -> None:
    bob = bob_in_random(site, rooms)
    assert bob.evaluate("Notification.permission") == "granted"
    expect(bob).to_have_title("#random · chatsite")
    general = sidebar_item(bob, "general")
    expect(general.locator("[data-mentions]")).to_have_attribute("data-mentions", "0")
    # A granted permission needs no prompt.
    expect(bob.locator("[data-notify-prompt]")).to_be_hidden()

    set_hidden(bob, True)
    post(rooms["alice"], rooms["general"], "no mention, no notification")
    mention = post(rooms["alice"], rooms["general"], "@bob can you look at the build?")
    bob.wait_for_function("window.__notifications.length >= 1")
    notes = bob.evaluate("window.__notifications")
    assert notes == [
        {
            "title": "Alice in #general",
            "body": "@bob can you look at the build?",
            "tag": f"chatsite-{mention.pk}",
        }
    ]
    # The sidebar's pill and the title count live.
    expect(general.locator("[data-mentions]")).to_have_text("1 mention")
    expect(general.locator(".conversation-link")).to_have_class(re.compile("has-mentions"))
    expect(bob).to_have_title("(1) #random · chatsite")
    expect(bob.locator("[data-mention-total]")).to_have_attribute("data-mention-total", "1")

    # A direct message notifies too, titled by its author alone.
    dm = in_worker(services.dm_open, user=rooms["alice"], user_ids=[rooms["bob"].pk])[0]
    post(rooms["alice"], dm, "psst")
    bob.wait_for_function("window.__notifications.length >= 2")
    assert bob.evaluate("window.__notifications[1]")["title"] == "Alice"
    expect(sidebar_item(bob, dm.name).locator("[data-mentions]")).to_have_attribute(
        "data-mentions", "1"
    )
    expect(sidebar_item(bob, dm.name).locator(".conversation-link")).to_have_accessible_name(
        "Alice 1 unread"
    )
    expect(bob).to_have_title("(2) #random · chatsite")

    # Clicking the mention's notification focuses the tab and opens the message in its room.
    set_hidden(bob, False)
    with bob.expect_navigation():
        bob.evaluate("window.__notificationObjects[0].dispatchEvent(new Event('click'))")
    expect(bob).to_have_url(re.compile(rf"/channels/general/\?m={mention.pk}"))
    expect(bob.locator(f"#m-{mention.pk}")).to_have_class(re.compile("message-highlight"))
    # Reading the room at its latest clears its mentions; the DM's stays in the title.
    bob.goto("/channels/general/")
    expect(sidebar_item(bob, "general").locator("[data-mentions]")).to_have_attribute(
        "data-mentions", "0"
    )
    expect(bob).to_have_title("(1) #general · chatsite")


def test_a_visible_tab_and_a_muted_channel_do_not_notify(site: Site, rooms: dict[str, Any]) -> None:
    Membership.objects.filter(channel=rooms["general"], user=rooms["bob"]).update(muted=True)
    bob = bob_in_random(site, rooms)
    general = sidebar_item(bob, "general")
    expect(general).to_have_attribute("data-muted", "")
    post(rooms["alice"], rooms["random"], "@bob while you look")  # tab visible: no alert
    set_hidden(bob, True)
    post(rooms["alice"], rooms["general"], "@bob in a muted channel")
    # Still counted, as in Slack, but silent.
    expect(general.locator("[data-mentions]")).to_have_attribute("data-mentions", "1")
    post(rooms["alice"], rooms["random"], "@bob marker")
    expect(bob).to_have_title(re.compile(r"^\(\d\) "))
    bob.wait_for_function("window.__notifications.length >= 1")
    titles = [note["body"] for note in bob.evaluate("window.__notifications")]
    assert titles == ["@bob marker"]


def test_every_message_notifies_when_notify_is_all(site: Site, rooms: dict[str, Any]) -> None:
    Membership.objects.filter(channel=rooms["general"], user=rooms["bob"]).update(notify="all")
    bob = bob_in_random(site, rooms)
    set_hidden(bob, True)
    post(rooms["alice"], rooms["general"], "plain news for everyone")
    bob.wait_for_function("window.__notifications.length >= 1")
    assert bob.evaluate("window.__notifications[0].body") == "plain news for everyone"


def test_the_rooms_panel_sets_notifications_and_mutes(site: Site, rooms: dict[str, Any]) -> None:
    bob = site.room(rooms["bob"], bypass_csp=True)
    panel = bob.get_by_role("group", name="Notify me about")
    expect(panel.get_by_role("radio", name="Mentions and direct messages")).to_be_checked()
    panel.get_by_role("radio", name="Every new message").check()
    panel.get_by_role("checkbox", name="Mute this channel").check()
    expect(sidebar_item(bob, "general")).to_have_attribute("data-muted", "")
    membership = Membership.objects.get(channel=rooms["general"], user=rooms["bob"])
    for _ in range(50):
        membership.refresh_from_db()
        if membership.muted:
            break
        bob.wait_for_timeout(100)
    assert (membership.notify, membership.muted) == ("all", True)
    bob.reload()
    expect(bob.get_by_role("checkbox", name="Mute this channel")).to_be_checked()
    expect(bob.get_by_role("radio", name="Every new message")).to_be_checked()
    assert axe_violations(bob) == []


def test_the_permission_prompt_asks_nothing_until_clicked_and_remembers_not_now(
    site: Site, rooms: dict[str, Any]
) -> None:
    page = site.room(rooms["bob"], name="random")
    assert page.evaluate("Notification.permission") == "default"
    prompt = page.locator("[data-notify-prompt]")
    expect(prompt).to_be_visible()
    expect(prompt.get_by_role("button", name="Enable desktop notifications")).to_be_visible()
    prompt.get_by_role("button", name="Not now").click()
    expect(prompt).to_be_hidden()
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    expect(prompt).to_be_hidden()


def test_the_mentions_page_lists_mentions_with_jump_links(
    site: Site, rooms: dict[str, Any]
) -> None:
    post(rooms["alice"], rooms["general"], "@bob first ping")
    last = post(rooms["alice"], rooms["random"], "@channel second ping")
    page = site.page(rooms["bob"], "/")
    link = page.get_by_role("link", name=re.compile("^Mentions"))
    expect(link.locator("[data-mention-total]")).to_have_text("2 unread")
    expect(page).to_have_title("(2) Channels · chatsite")
    link.click()
    expect(page).to_have_url(re.compile("/mentions/$"))
    expect(page.get_by_role("heading", name="Mentions", level=1)).to_be_visible()
    items = page.locator(".mention-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("second ping")
    expect(items.first).to_contain_text("#random")
    expect(items.nth(1)).to_contain_text("#general")
    items.first.get_by_role("link", name=re.compile("^Jump to message")).click()
    expect(page).to_have_url(re.compile(rf"/channels/random/\?m={last.pk}"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_mentions_pages_pass_axe_and_fit_a_phone(
    site: Site, rooms: dict[str, Any], scheme: str
) -> None:
    post(rooms["alice"], rooms["general"], "@bob **look** at `this`")
    for viewport in ({"width": 1280, "height": 800}, MOBILE):
        page = site.page(
            rooms["bob"], "/mentions/", color_scheme=scheme, viewport=viewport, bypass_csp=True
        )
        expect(page.locator(".mention-item")).to_have_count(1)
        assert axe_violations(page) == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"]
    room = site.room(rooms["bob"], name="random", color_scheme=scheme, bypass_csp=True)
    expect(sidebar_item(room, "general").locator("[data-mentions]")).to_have_text("1 mention")
    expect(room.locator("[data-notify-prompt]")).to_be_visible()
    assert axe_violations(room) == []
