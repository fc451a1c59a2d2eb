"""The search page, the header's search box and rooms opened at a message, without scripts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chat.models import Membership
from tests.factories import ChannelFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_signed_in_page_has_the_search_box(alice: Any, channel: Any) -> None:
    html = _logged_in(alice).get("/").content.decode()
    assert 'role="search"' in html and 'action="/search/"' in html
    assert 'aria-keyshortcuts="/"' in html and "js/search-box.js" in html
    assert 'role="search"' not in Client().get("/accounts/login/").content.decode()


def test_the_search_page_without_a_query_shows_how_to_search(alice: Any) -> None:
    response = _logged_in(alice).get("/search/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Search messages" in html and "How to search" in html
    assert "search-result" not in html


def test_results_are_grouped_by_channel_escaped_and_link_to_the_message(
    alice: Any, channel: Any, post: Any
) -> None:
    ops = ChannelFactory.create(name="ops")
    MembershipFactory.create(channel=ops, user=alice)
    first = post(alice, channel, "rollout <b>today</b>")
    second = post(alice, ops, "rollout tomorrow")
    html = _logged_in(alice).get("/search/", {"q": "rollout"}).content.decode()
    assert html.count('class="search-group"') == 2
    assert f'href="/channels/general/?m={first.pk}#m-{first.pk}"' in html
    assert f'href="/channels/ops/?m={second.pk}#m-{second.pk}"' in html
    assert "<mark>rollout</mark> &lt;b&gt;today&lt;/b&gt;" in html
    assert "<b>today</b>" not in html


def test_filters_show_as_chips_that_remove_themselves(alice: Any, channel: Any, post: Any):
    post(alice, channel, "rollout done")
    html = _logged_in(alice).get("/search/", {"q": "rollout from:alice"}).content.decode()
    assert 'aria-label="Remove filter from:alice"' in html
    assert 'href="?q=rollout"' in html


def test_a_long_result_list_pages_with_a_cursor(alice: Any, channel: Any, post: Any) -> None:
    for n in range(25):
        post(alice, channel, f"ping {n}")
    client = _logged_in(alice)
    html = client.get("/search/", {"q": "ping"}).content.decode()
    assert html.count('class="search-result"') == 20
    assert "More results" in html
    cursor = html.split("cursor=")[1].split('"')[0]
    more = client.get(f"/search/?q=ping&cursor={cursor}").content.decode()
    assert more.count('class="search-result"') == 5 and "More results" not in more


def test_a_query_that_means_nothing_is_400_with_the_reason(alice: Any) -> None:
    response = _logged_in(alice).get("/search/", {"q": "before:someday"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "YYYY-MM-DD" in response.content.decode()


def test_searching_too_often_is_429(alice: Any, settings: Any) -> None:
    settings.CHAT_SEARCH_RATE = "1/min"
    client = _logged_in(alice)
    assert client.get("/search/", {"q": "x"}).status_code == 200
    response = client.get("/search/", {"q": "x"})
    assert response.status_code == 429 and response["Retry-After"]


def test_the_search_page_needs_a_login() -> None:
    response = Client().get("/search/", {"q": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_room_opened_at_a_message_shows_the_page_around_it(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    posted = [post(alice, channel, f"line {n}") for n in range(120)]
    target = posted[30]
    response = _logged_in(bob).get(f"/channels/general/?m={target.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "line 5<" in html and "line 54<" in html
    assert "line 4<" not in html and "line 55<" not in html
    assert f'data-load-newer href="?m={posted[54].pk}#m-{posted[54].pk}"' in html
    assert "Load older messages" in html and "Back to latest" in html
    assert "js/room-jump.js" in html
    # Opening the room in the middle of its history does not mark it read.
    assert Membership.objects.get(channel=channel, user=bob).last_read_seq == 0


def test_a_room_opened_at_an_unknown_message_is_404(alice: Any, channel: Any) -> None:
    client = _logged_in(alice)
    assert client.get("/channels/general/?m=nope").status_code == 404
    assert (
        client.get("/channels/general/?m=00000000-0000-0000-0000-000000000000").status_code == 404
    )


def test_a_direct_message_result_is_titled_as_one(alice: Any, bob: Any, post: Any) -> None:
    from chat import services

    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    post(alice, dm, "quokka sighting")
    html = _logged_in(bob).get("/search/", {"q": "quokka"}).content.decode()
    assert f'href="/channels/{dm.name}/">Direct message</a>' in html
    assert f"#{dm.name}" not in html
