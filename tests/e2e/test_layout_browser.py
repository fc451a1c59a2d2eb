"""The chat-app layout in a real Chromium with two and three people: the live sidebar,
removal, keyboard switching, the delete dialog, moderators, and the room fixes (docs/web.md).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django import db
from playwright.sync_api import Page, expect

from chat import services
from tests.e2e.conftest import Site, axe_violations
from tests.e2e.test_room_browser import message, post
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

MOBILE = {"width": 360, "height": 740}


def in_thread(work: Callable[[], Any]) -> Any:
    """Run a service call as the REST view would, so its on-commit events go out (see post)."""

    def _run() -> Any:
        try:
            return work()
        finally:
            db.connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, _run).result()


def sidebar_item(page: Page, name: str) -> Any:
    return page.get_by_role("navigation", name="Conversations").get_by_role("link", name=name)


def inside_log(page: Page, selector: str) -> bool:
    """Is the element wholly inside the log's visible box?"""
    return bool(
        page.evaluate(
            """s => {
              const log = document.getElementById("message-log").getBoundingClientRect();
              const box = document.querySelector(s).getBoundingClientRect();
              return box.top >= log.top - 1 && box.bottom <= log.bottom + 1;
            }""",
            selector,
        )
    )


@pytest.fixture
def three(people: dict[str, Any]) -> dict[str, Any]:
    """alice, bob and carol; #general (all three), #random (alice and bob)."""
    carol = UserFactory.create(username="carol", display_name="Carol")
    MembershipFactory.create(channel=people["general"], user=carol)
    random = ChannelFactory.create(name="random", title="Random")
    MembershipFactory.create(channel=random, user=people["alice"], role="owner")
    MembershipFactory.create(channel=random, user=people["bob"])
    return {**people, "carol": carol, "random": random}


def test_the_sidebar_counts_other_rooms_live_and_shows_a_conversation_one_is_added_to(
    site: Site, three: dict[str, Any]
) -> None:
    alice = site.room(three["alice"])
    expect(sidebar_item(alice, "general")).to_have_attribute("aria-current", "page")
    # bob writes in #random while alice reads #general: her sidebar counts it, in bold.
    post(three["bob"], three["random"], "over here", "and here")
    random = sidebar_item(alice, "random 2 unread")
    expect(random).to_be_visible()
    expect(random).to_have_class("conversation-link is-unread")
    # A message in the room she is reading is not unread.
    post(three["carol"], three["general"], "in the open room")
    expect(message(alice, "in the open room")).to_have_count(1)
    expect(sidebar_item(alice, "general")).not_to_have_class("conversation-link is-unread")
    # carol makes a private channel and adds alice: it appears at once, with a lock.
    plans = ChannelFactory.create(name="plans", is_private=True, created_by=three["carol"])
    MembershipFactory.create(channel=plans, user=three["carol"], role="owner")
    in_thread(
        lambda: services.channel_member_add(
            actor=three["carol"], channel_id=plans.pk, user=three["alice"]
        )
    )
    added = sidebar_item(alice, "plans (private)")
    expect(added).to_be_visible()
    expect(added.locator("use")).to_have_attribute("href", "#icon-lock")
    # Opening #random clears its count, also in a second tab of hers.
    other_tab = site.room(three["alice"])
    sidebar_item(alice, "random").click()
    expect(alice).to_have_url(f"{site.url}/channels/random/")
    expect(sidebar_item(other_tab, "random")).not_to_have_class("conversation-link is-unread")


def test_a_removed_member_sees_the_conversation_go_at_once(
    site: Site, three: dict[str, Any]
) -> None:
    secret = ChannelFactory.create(name="secret", is_private=True, created_by=three["alice"])
    MembershipFactory.create(channel=secret, user=three["alice"], role="owner")
    MembershipFactory.create(channel=secret, user=three["bob"])
    MembershipFactory.create(channel=secret, user=three["carol"])
    post(three["alice"], secret, "the plan is ready")
    bob = site.room(three["bob"], "secret")
    carol = site.room(three["carol"], "general")
    alice = site.room(three["alice"], "secret")
    expect(sidebar_item(carol, "secret")).to_be_visible()
    # alice owns the channel: she removes bob from the members panel, after a dialog.
    panel = alice.get_by_role("region", name="Members")
    panel.get_by_role("button", name="Remove Bob").click()
    alice.get_by_role("dialog", name="Remove Bob?").get_by_role("button", name="Remove").click()
    expect(panel.locator(f'.member[data-user-id="{three["bob"].pk}"]')).to_have_count(0)
    notice = bob.get_by_role("alert").filter(has_text="no longer a member of #secret")
    expect(notice).to_be_visible()
    expect(notice).to_be_focused()
    expect(sidebar_item(bob, "secret")).to_have_count(0)
    expect(message(bob, "the plan is ready")).to_have_count(0)
    expect(bob.get_by_role("textbox", name="Message")).to_have_count(0)
    # Later posts never reach him; carol, still in, counts them.
    post(three["alice"], secret, "after bob left")
    expect(sidebar_item(carol, "secret (private) 2 unread")).to_be_visible()
    expect(message(bob, "after bob left")).to_have_count(0)


def test_a_direct_message_arrives_live_in_the_sidebar_of_someone_in_another_room(
    site: Site, three: dict[str, Any]
) -> None:
    alice = site.room(three["alice"], "random")
    carol = site.room(three["carol"], "general")
    bob = site.room(three["bob"])
    bob.get_by_role("button", name="New message").click()
    dialog = bob.get_by_role("dialog", name="New message")
    to = dialog.get_by_role("combobox", name="To")
    expect(to).to_be_focused()
    to.press_sequentially("ali")
    expect(dialog.get_by_role("option", name="Alice")).to_have_attribute("aria-selected", "true")
    to.press("Enter")
    expect(dialog.get_by_role("list", name="People in the conversation")).to_contain_text("Alice")
    dialog.get_by_role("button", name="Start").click()
    expect(bob.get_by_role("heading", level=1, name="Alice")).to_be_visible()
    expect(bob.get_by_role("status")).to_have_text("Connected")
    composer = bob.get_by_role("textbox", name="Message")
    composer.fill("psst, a word?")
    composer.press("Enter")
    # alice, reading #random, sees the conversation arrive with its unread count.
    dm = sidebar_item(alice, "Bob 1 unread")
    expect(dm).to_be_visible()
    expect(dm).to_have_class("conversation-link is-unread")
    expect(sidebar_item(carol, "Bob")).to_have_count(0)  # not hers
    dm.click()
    expect(message(alice, "psst, a word?")).to_have_count(1)
    expect(sidebar_item(alice, "Bob")).to_have_attribute("aria-current", "page")
    # The same people again open the same conversation; a group of three is another one.
    bob.get_by_role("button", name="New message").click()
    for start, name in (("ali", "Alice"), ("car", "Carol")):
        to.press_sequentially(start)
        expect(dialog.get_by_role("option", name=name)).to_have_attribute("aria-selected", "true")
        to.press("Enter")
    dialog.get_by_role("button", name="Start").click()
    expect(bob.get_by_role("heading", level=1, name="Alice, Carol")).to_be_visible()
    composer.fill("all three of us")
    composer.press("Enter")
    expect(sidebar_item(carol, "Alice, Bob 1 unread")).to_be_visible()


def test_editing_title_and_topic_reaches_every_open_tab(site: Site, three: dict[str, Any]) -> None:
    owner = site.room(three["alice"])
    member = site.room(three["bob"])
    owner.get_by_role("button", name="Edit details").click()
    dialog = owner.get_by_role("dialog", name="Edit details")
    dialog.get_by_role("textbox", name="Topic").fill("Launch on Friday")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(owner.get_by_role("button", name="Edit details")).to_be_focused()
    for page in (owner, member):
        expect(page.locator("[data-room-topic-text]")).to_have_text("Launch on Friday")
    expect(member.get_by_role("button", name="Edit details")).to_have_count(0)


def test_switching_conversations_by_keyboard_alone(site: Site, three: dict[str, Any]) -> None:
    page = site.room(three["alice"])
    composer = page.get_by_role("textbox", name="Message")
    composer.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(page).to_have_url(f"{site.url}/channels/random/")
    expect(sidebar_item(page, "random")).to_have_attribute("aria-current", "page")
    page.keyboard.press("Alt+ArrowUp")
    expect(page).to_have_url(f"{site.url}/channels/general/")

    page.keyboard.press("Control+k")
    switcher = page.get_by_role("dialog", name="Jump to a conversation")
    field = switcher.get_by_role("combobox", name="Jump to")
    expect(field).to_be_focused()
    expect(switcher.get_by_role("option")).to_have_count(2)
    page.keyboard.type("ran")
    expect(switcher.get_by_role("option")).to_have_count(1)
    expect(switcher.get_by_role("option", name="random")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/channels/random/")
    # Escape closes it and gives the focus back.
    page.get_by_role("textbox", name="Message").focus()
    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog", name="Jump to a conversation")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()


def test_delete_asks_in_an_accessible_dialog_and_leaves_a_tombstone(
    site: Site, three: dict[str, Any]
) -> None:
    post(three["bob"], three["general"], "keep this")
    post(three["alice"], three["general"], "delete this")
    alice = site.room(three["alice"])
    bob = site.room(three["bob"])
    delete = message(alice, "delete this").get_by_role("button", name="Delete your message")
    delete.focus()
    alice.keyboard.press("Enter")
    dialog = alice.get_by_role("dialog", name="Delete your message?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    # Escape cancels: nothing is deleted and the focus is back on the button.
    alice.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    expect(message(bob, "delete this")).to_have_count(1)

    alice.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    alice.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Delete")).to_be_focused()
    alice.keyboard.press("Enter")
    for page in (alice, bob):
        tomb = page.locator("article.message-deleted")
        expect(tomb).to_have_count(1)
        expect(tomb.locator(".message-body")).to_have_text("message deleted")
        expect(tomb.get_by_role("button")).to_have_count(0)
    expect(alice.get_by_role("log")).to_be_focused()
    expect(message(bob, "keep this")).to_have_count(1)


def test_a_moderator_deletes_someone_elses_message_from_the_room(
    site: Site, three: dict[str, Any]
) -> None:
    moderator = UserFactory.create(username="mod", display_name="Mo", role="moderator")
    MembershipFactory.create(channel=three["general"], user=moderator)
    post(three["bob"], three["general"], "something rude")
    mod = site.room(moderator)
    bob = site.room(three["bob"])
    rude = message(mod, "something rude")
    expect(rude.get_by_role("button", name="Edit")).to_have_count(0)
    rude.hover()
    rude.get_by_role("button", name="Delete message by Bob").click()
    mod.get_by_role("dialog", name="Delete Bob's message?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(bob.locator("article.message-deleted .message-body")).to_have_text("message deleted")
    # A message that arrives live also carries the moderator's Delete.
    post(three["bob"], three["general"], "another one")
    expect(
        message(mod, "another one").get_by_role("button", name="Delete message by Bob")
    ).to_have_count(1)


def test_the_room_fixes_edit_typing_and_failed_sends_stay_in_view(
    site: Site, three: dict[str, Any]
) -> None:
    post(three["bob"], three["general"], *(f"filler {n}" for n in range(25)))
    post(three["alice"], three["general"], "my last words")
    alice = site.room(three["alice"])
    bob = site.room(three["bob"])
    # Edit of the last message: Save and Cancel are on screen, above the composer.
    message(alice, "my last words").get_by_role("button", name="Edit your message").click()
    save = alice.get_by_role("button", name="Save")
    expect(save).to_be_in_viewport(ratio=1)
    expect(alice.get_by_role("button", name="Cancel")).to_be_in_viewport(ratio=1)
    assert inside_log(alice, ".message-editor")
    alice.keyboard.press("Escape")

    # The typing line takes no room from the log: the last message stays wholly visible.
    last = message(bob, "my last words")
    before = last.bounding_box()
    alice.get_by_role("textbox", name="Message").press_sequentially("typing…")
    expect(bob.locator("#typing-indicator")).to_have_text("Alice is typing…")
    assert last.bounding_box() == before
    assert inside_log(bob, "#message-log article.message:last-of-type")

    # A refused send (nothing visible in it) is shown whole, with its Discard button.
    composer = alice.get_by_role("textbox", name="Message")
    composer.fill("\u200b")
    composer.press("Enter")
    failed = alice.locator("article.message-failed")
    expect(failed).to_have_count(1)
    expect(failed.get_by_role("button", name="Discard unsent message")).to_be_in_viewport(ratio=1)
    assert inside_log(alice, "article.message-failed")


def test_new_dialogs_and_panels_pass_axe_in_light_and_dark(
    site: Site, three: dict[str, Any]
) -> None:
    post(three["bob"], three["general"], "one", "two")
    for scheme in ("light", "dark"):
        page = site.room(three["alice"], bypass_csp=True, color_scheme=scheme)
        page.keyboard.press("Control+k")
        expect(page.get_by_role("dialog", name="Jump to a conversation")).to_be_visible()
        assert axe_violations(page) == []
        page.keyboard.press("Escape")
        page.get_by_role("button", name="New message").click()
        expect(page.get_by_role("dialog", name="New message")).to_be_visible()
        assert axe_violations(page) == []
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)


def test_on_a_phone_the_sidebar_is_the_home_view_and_a_menu_elsewhere(
    site: Site, three: dict[str, Any]
) -> None:
    home = site.page(three["alice"], "/", viewport=MOBILE)
    expect(sidebar_item(home, "general")).to_be_in_viewport()
    room = site.room(three["alice"], viewport=MOBILE)
    nav = room.get_by_role("navigation", name="Conversations")
    expect(nav).to_be_hidden()
    menu = room.get_by_role("button", name="Conversations")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(nav).to_be_visible()
    expect(sidebar_item(room, "general")).to_be_focused()
    room.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    # The members panel covers the room when asked for, and closes again.
    room.get_by_role("button", name="Members").click()
    expect(room.get_by_role("heading", name="Members")).to_be_in_viewport()
    room.get_by_role("button", name="Close members").click()
    expect(room.get_by_role("textbox", name="Message")).to_be_in_viewport(ratio=1)
