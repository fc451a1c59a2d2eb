"""The chat-app layout as the server renders it: the sidebar on every signed-in page, the
room's avatars, groups and day dividers, moderator actions, private channels (docs/web.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chat import services
from chat.models import Message
from tests.factories import ChannelFactory, MembershipFactory
from web.templatetags.chat_ui import avatar_colour_of, initials_of

pytestmark = pytest.mark.django_db


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _find(pattern: str, html: str, group: int = 0) -> str:
    match = re.search(pattern, html, re.S)
    assert match, f"nothing like {pattern!r} on the page"
    return match.group(group)


def _sidebar(html: str) -> str:
    return _find(r'<nav class="sidebar".*?</nav>', html)


def test_avatars_match_the_script_values() -> None:
    # tests/js/people.test.js holds the same pairs for static/js/people.js.
    assert [avatar_colour_of(x) for x in ["1", "2", "42", "123456", "Bob Baker", "Zoë"]] == [
        1,
        2,
        6,
        5,
        7,
        6,
    ]
    assert [initials_of(x) for x in ["Alice Archer", "bob", "mo_derator", "  ", "Zoë Ünal"]] == [
        "AA",
        "BO",
        "MD",
        "?",
        "ZÜ",
    ]


def test_every_signed_in_page_has_the_sidebar_of_the_users_conversations(
    alice: Any, bob: Any, channel: Any, private_channel: Any, post: Any
) -> None:
    ChannelFactory.create(name="elsewhere")  # public, alice is not in it
    MembershipFactory.create(channel=channel, user=bob)
    post(bob, channel, "news for alice")
    client = _logged_in(alice)
    for path in ["/", "/channels/secret/", "/no/such/page/"]:
        sidebar = _sidebar(client.get(path).content.decode())
        assert "general" in sidebar and "secret" in sidebar
        assert "elsewhere" not in sidebar
        assert 'aria-label="Conversations"' in sidebar
    html = client.get("/").content.decode()
    sidebar = _sidebar(html)
    # general has one unread message: a count, in bold; the private one carries a lock.
    general = _find(rf'data-channel-id="{channel.pk}".*?</li>', sidebar)
    assert 'class="conversation-link is-unread"' in general
    assert 'data-unread="1"' in general
    secret = _find(rf'data-channel-id="{private_channel.pk}".*?</li>', sidebar)
    assert "#icon-lock" in secret and "(private)" in secret
    # The page being shown is marked as the current one.
    room = _sidebar(client.get("/channels/secret/").content.decode())
    current = re.findall(r'href="(/channels/[^"]+/)" aria-current="page"', room)
    assert current == ["/channels/secret/"]


def test_signed_out_pages_have_no_sidebar(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert 'class="sidebar"' not in html
    assert "new-dm-dialog" not in html


def test_room_groups_one_authors_messages_and_divides_days(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    first = post(alice, channel, "yesterday's news")
    Message.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=1))
    second = post(alice, channel, "one")
    third = post(alice, channel, "two, same minute")
    fourth = post(bob, channel, "bob replies")
    html = _logged_in(alice).get("/channels/general/").content.decode()
    assert re.findall(r'class="day-divider-label">([^<]+)<', html) == ["Yesterday", "Today"]

    def classes(message: Any) -> str:
        return _find(rf'<article class="([^"]+)" id="m-{message.pk}"', html, 1)

    assert "message-continued" not in classes(second)
    assert "message-continued" in classes(third)
    assert "message-continued" not in classes(fourth)
    # The avatar: initials on the user's colour; the time carries the whole date.
    avatar = f'data-colour="{avatar_colour_of(bob.pk)}" aria-hidden="true">'
    assert f"{avatar}{initials_of(bob.shown_name)}<" in html
    assert re.search(r'<time class="message-time" datetime="[^"]+" title="\w+day, ', html)


def test_room_offers_moderators_delete_on_other_peoples_messages(
    alice: Any, bob: Any, moderator: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    message = post(bob, channel, "something to moderate")

    def actions(user: Any) -> list[str]:
        html = _logged_in(user).get("/channels/general/").content.decode()
        article = _find(rf'id="m-{message.pk}".*?</article>', html)
        # Edit and Delete (everyone may react and reply: those are in the message's tools).
        toolbar = re.search(r'<div class="message-actions">.*?</div>', article, re.S)
        return re.findall(r'data-action="(\w+)"', toolbar.group(0)) if toolbar else []

    assert actions(moderator) == ["delete"]
    assert actions(alice) == []  # the owner of a channel is not a moderator of messages
    assert actions(bob) == ["edit", "delete"]


def test_room_of_a_private_channel_shows_a_lock_and_management_to_its_owner(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    owner = _logged_in(alice).get("/channels/secret/").content.decode()
    assert '<use href="#icon-lock">' in _find(r'<h1 id="room-title">.*?</h1>', owner)
    assert "(private channel)" in owner
    assert "data-add-member" in owner and "data-remove-member" in owner
    assert 'id="details-dialog"' in owner
    member = _logged_in(bob).get("/channels/secret/").content.decode()
    assert "data-add-member" not in member and "data-remove-member" not in member
    assert "data-leave" in member
    assert 'id="confirm-dialog"' in member


def test_a_deleted_message_keeps_its_place_as_a_tombstone(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    post(alice, channel, "before")
    gone = post(alice, channel, "the secret text")
    post(alice, channel, "after")
    services.message_delete(user=alice, message_id=gone.pk)
    html = _logged_in(bob).get("/channels/general/").content.decode()
    assert "the secret text" not in html
    article = _find(
        rf'<article class="[^"]*message-deleted[^"]*" id="m-{gone.pk}".*?</article>', html
    )
    assert ">message deleted<" in article
    assert "data-action" not in article
    # The next message starts a group again: a tombstone is nobody's message.
    after = _find(r'<article class="([^"]+)"[^>]*>(?:(?!</article>).)*>after<', html, 1)
    assert "message-continued" not in after
