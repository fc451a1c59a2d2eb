"""GET /api/chat/messages?around=<id>: the page around one message (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from tests.contract.conftest import assert_error

URL = "/api/chat/messages"


@pytest.fixture
def twenty(alice: Any, channel: Any, post: Any) -> list[Any]:
    return [post(alice, channel, f"message {n}") for n in range(20)]


def _page(client: Any, channel: Any, **params: Any) -> dict[str, Any]:
    response = client.get(URL, {"channel_id": str(channel.pk), **params})
    assert response.status_code == 200, response.content
    return response.json()


def _numbers(page: dict[str, Any]) -> list[int]:
    return [int(message["content"].split()[1]) for message in page["results"]]


@pytest.mark.django_db
def test_around_centres_the_message_oldest_first(alice_api: Any, channel: Any, twenty: list):
    page = _page(alice_api, channel, around=str(twenty[10].pk), limit=6)
    assert _numbers(page) == [7, 8, 9, 10, 11, 12]
    assert page["has_more"] is True


@pytest.mark.django_db
def test_around_near_either_end_fills_up_from_the_other_side(
    alice_api: Any, channel: Any, twenty: list
) -> None:
    first = _page(alice_api, channel, around=str(twenty[1].pk), limit=6)
    assert _numbers(first) == [0, 1, 2, 3, 4, 5]
    assert first["has_more"] is False
    last = _page(alice_api, channel, around=str(twenty[19].pk), limit=6)
    assert _numbers(last) == [14, 15, 16, 17, 18, 19]
    assert last["has_more"] is True
    assert _numbers(_page(alice_api, channel, around=str(twenty[5].pk), limit=1)) == [5]


@pytest.mark.django_db
def test_around_leaves_tombstones_out_and_pages_on_with_after(
    alice: Any, alice_api: Any, channel: Any, twenty: list
) -> None:
    services.message_delete(user=alice, message_id=twenty[11].pk)
    page = _page(alice_api, channel, around=str(twenty[10].pk), limit=4)
    assert _numbers(page) == [8, 9, 10, 12]
    newer = _page(alice_api, channel, after=page["results"][-1]["id"], limit=4)
    assert _numbers(newer) == [13, 14, 15, 16]


@pytest.mark.django_db
def test_around_bad_input_is_400_naming_the_field(
    alice_api: Any, bob: Any, channel: Any, private_channel: Any, post: Any, twenty: list
) -> None:
    elsewhere = post(bob, channel, "x")
    secret = post(twenty[0].user, private_channel, "secret")
    for around in ("nope", "00000000-0000-0000-0000-000000000000", str(secret.pk)):
        response = alice_api.get(URL, {"channel_id": str(channel.pk), "around": around})
        assert_error(response, 400, "validation_error", "around")
    response = alice_api.get(
        URL,
        {"channel_id": str(channel.pk), "around": str(elsewhere.pk), "before": str(elsewhere.pk)},
    )
    assert_error(response, 400, "validation_error", "around")
