"""Lists by kind of conversation, titles for the people looking, and the web pages of a
direct message."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat import selectors, services
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dm(alice: Any, bob: Any) -> Any:
    channel, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    return channel


def test_the_channel_list_filters_by_kind_and_pages_with_it(
    alice_api: APIClient, alice: Any, channel: Any, dm: Any
) -> None:
    other = UserFactory.create(username="zoe")
    services.dm_open(user=alice, user_ids=[other.pk])
    dms = alice_api.get("/api/chat/channels/?kind=dm&limit=1")
    assert [item["kind"] for item in dms.json()] == ["dm"]
    assert "kind=dm" in dms["Link"]
    nxt = dms["Link"].split(";")[0].strip("<>")
    assert [item["kind"] for item in alice_api.get(nxt).json()] == ["dm"]
    channels = alice_api.get("/api/chat/channels/?kind=channel").json()
    assert [item["name"] for item in channels] == ["general"]
    assert_error(alice_api.get("/api/chat/channels/?kind=group"), 400, field="kind")


def test_conversation_titles_for_the_viewer(alice: Any, bob: Any, channel: Any, dm: Any) -> None:
    assert selectors.conversation_title(channel=dm, viewer=alice) == "Bob"
    assert selectors.conversation_title(channel=dm, viewer=bob) == "Alice"
    assert selectors.conversation_title(channel=channel, viewer=bob) == channel.title
    untitled = ChannelFactory.create(name="plain", title="")
    assert selectors.conversation_title(channel=untitled, viewer=bob) == "plain"


def test_the_channels_page_lists_channels_only(alice: Any, channel: Any, dm: Any) -> None:
    page = _logged_in(alice).get("/").content.decode()
    # The list in the page's main part; the sidebar beside it holds the conversations.
    listed = page[page.index('<main id="main"') : page.index("</main>")]
    assert "#general" in listed and dm.name not in listed


def test_a_dm_room_opens_for_its_members_only(
    alice: Any, bob: Any, moderator: Any, dm: Any
) -> None:
    assert _logged_in(bob).get(f"/channels/{dm.name}/").status_code == 200
    carol = UserFactory.create(username="carol")
    for outsider in (carol, moderator):
        assert _logged_in(outsider).get(f"/channels/{dm.name}/").status_code == 404
