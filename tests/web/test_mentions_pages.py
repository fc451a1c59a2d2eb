"""The mentions page, the sidebar's counts and the room's notification settings form, as
rendered by the server (docs/web.md, "Notifications")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chat import services
from chat.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_client(bob: Any, channel: Any) -> Client:
    MembershipFactory.create(channel=channel, user=bob)
    client = Client()
    client.force_login(bob)
    return client


def test_the_mentions_page_lists_mentions_newest_first_with_jump_links(
    bob_client: Client, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    first = post(alice, channel, "@bob first")
    second = post(alice, channel, "@channel second")
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    post(alice, dm, "psst")
    page = bob_client.get("/mentions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("psst") < html.index("second") < html.index("first")
    assert f"/channels/general/?m={second.pk}" in html
    assert f"/channels/general/?m={first.pk}" in html
    assert 'in <span class="mention-where">Alice</span>' in html  # a DM, by its people
    assert html.count('class="tag">unread</span>') == 3
    # The sidebar: the mention pill on #general, the total on "Mentions" (2 + the DM's 1).
    assert 'data-mentions="2"' in html
    assert 'data-mention-total="3"' in html


def test_an_empty_mentions_page_says_what_would_be_there(bob_client: Client) -> None:
    page = bob_client.get("/mentions/")
    assert page.status_code == 200
    assert "Nothing yet" in page.content.decode()


def test_the_mentions_page_pages_and_refuses_a_made_up_cursor(
    bob_client: Client, alice: Any, channel: Any, post: Any, settings: Any
) -> None:
    from web import views

    settings.CHAT_MENTION_LIST_RATE = "1000/min"
    for n in range(3):
        post(alice, channel, f"@bob number {n}")
    original = views.MENTIONS_PAGE_SIZE
    views.MENTIONS_PAGE_SIZE = 2
    try:
        page = bob_client.get("/mentions/").content.decode()
        assert "number 2" in page and "number 0" not in page
        assert "Older mentions" in page
    finally:
        views.MENTIONS_PAGE_SIZE = original
    refused = bob_client.get("/mentions/?cursor=nope")
    assert refused.status_code == 400
    assert "Invalid cursor." in refused.content.decode()


def test_the_mentions_page_is_rate_limited(bob_client: Client, settings: Any) -> None:
    settings.CHAT_MENTION_LIST_RATE = "1/hour"
    assert bob_client.get("/mentions/").status_code == 200
    refused = bob_client.get("/mentions/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"


def test_the_mentions_page_needs_a_sign_in() -> None:
    response = Client().get("/mentions/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_room_form_saves_notification_settings_without_scripts(
    bob_client: Client, bob: Any, channel: Any
) -> None:
    room = bob_client.get("/channels/general/").content.decode()
    assert 'name="notify" value="mentions" checked' in room
    response = bob_client.post(
        "/channels/general/notifications/", {"notify": "none", "muted": "on"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(channel=channel, user=bob)
    assert (membership.notify, membership.muted) == ("none", True)
    room = bob_client.get("/channels/general/").content.decode()
    assert "Notification settings saved." in room
    assert "data-muted" in room
    response = bob_client.post("/channels/general/notifications/", {"notify": "loud"})
    assert response.status_code == 302
    assert "Invalid notification settings." in bob_client.get("/channels/general/").content.decode()
    membership.refresh_from_db()
    assert (membership.notify, membership.muted) == ("none", True)


def test_a_non_member_gets_no_settings_form_and_cannot_post_one(
    bob: Any, alice: Any, channel: Any
) -> None:
    client = Client()
    client.force_login(bob)
    room = client.get("/channels/general/").content.decode()
    assert "data-notify-settings" not in room
    client.post("/channels/general/notifications/", {"muted": "on"})
    assert not Membership.objects.filter(user=bob).exists()
