"""GET /api/chat/channels/ and /members/ page: a plain list of at most ``limit`` items, and a
``Link: <…>; rel="next"`` header while there is more."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from chat.selectors import DEFAULT_LIST_PAGE_SIZE, MAX_LIST_PAGE_SIZE
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _next(response: Any) -> str | None:
    link = response.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match, link
    return match.group(1)


def _walk(client: APIClient, url: str) -> tuple[list[Any], int]:
    """Every item, following the next links; and the number of pages."""
    items: list[Any] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert isinstance(body, list)
        items.extend(body)
        pages += 1
        next_url = _next(response)
    return items, pages


def test_channels_page_by_name_and_the_pages_add_up(alice_api: APIClient) -> None:
    names = sorted(f"room-{number:02d}" for number in range(7))
    for name in names:
        ChannelFactory.create(name=name)
    ChannelFactory.create(name="hidden", is_private=True)

    first = alice_api.get("/api/chat/channels/", {"limit": 3})
    assert [c["name"] for c in first.json()] == names[:3]
    assert _next(first) == f"/api/chat/channels/?limit=3&cursor={names[2]}"

    items, pages = _walk(alice_api, "/api/chat/channels/?limit=3")
    assert [c["name"] for c in items] == names
    assert pages == 3


def test_a_short_channel_list_is_one_page_without_a_link(
    alice_api: APIClient, channel: Any
) -> None:
    response = alice_api.get("/api/chat/channels/")
    assert [c["name"] for c in response.json()] == ["general"]
    assert "Link" not in response


def test_the_default_page_is_bounded(alice_api: APIClient) -> None:
    ChannelFactory.create_batch(DEFAULT_LIST_PAGE_SIZE + 1)
    response = alice_api.get("/api/chat/channels")
    assert len(response.json()) == DEFAULT_LIST_PAGE_SIZE
    assert _next(response) is not None


@pytest.mark.parametrize("limit", ["0", str(MAX_LIST_PAGE_SIZE + 1), "x", ""])
def test_a_bad_limit_is_400(alice_api: APIClient, limit: str) -> None:
    response = alice_api.get("/api/chat/channels/", {"limit": limit})
    assert_error(response, 400, "validation_error", field="limit")


def test_members_page_in_join_order(alice_api: APIClient, alice: Any, channel: Any) -> None:
    others = UserFactory.create_batch(4)
    for user in others:
        MembershipFactory.create(channel=channel, user=user)
    url = f"/api/chat/channels/{channel.pk}/members/?limit=2"
    items, pages = _walk(alice_api, url)
    assert [m["user"]["username"] for m in items] == [u.username for u in [alice, *others]]
    assert pages == 3


def test_a_bad_member_cursor_is_400(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.get(f"/api/chat/channels/{channel.pk}/members/", {"cursor": "x"})
    assert_error(response, 400, "validation_error", field="cursor")
