"""POST/DELETE /api/chat/messages/{id}/reactions/ (docs/api.md, "Reactions")."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import Reaction
from tests.contract.conftest import assert_error

pytestmark = pytest.mark.django_db
MESSAGES = "/api/chat/messages"
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"


def _react(client: APIClient, message: Any, emoji: Any = "👍") -> Any:
    return client.post(f"{MESSAGES}/{message.pk}/reactions/", {"emoji": emoji}, format="json")


def _unreact(client: APIClient, message: Any, emoji: str = "👍") -> Any:
    return client.delete(f"{MESSAGES}/{message.pk}/reactions/{quote(emoji)}/")


def test_react_is_201_with_the_message_and_its_reactions(
    alice_api: APIClient, bob_api: APIClient, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "react to me")
    response = _react(bob_api, message)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == str(message.pk)
    assert body["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [str(bob.pk)]}]
    assert body["change_seq"] == message.seq + 1
    response = _react(alice_api, message)
    assert response.json()["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [str(bob.pk), str(alice.pk)]}
    ]


def test_reacting_again_is_200_and_takes_no_seq(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "once")
    first = _react(bob_api, message).json()
    again = _react(bob_api, message)
    assert again.status_code == 200
    assert again.json()["change_seq"] == first["change_seq"]
    assert Reaction.objects.filter(message=message).count() == 1
    channel.refresh_from_db()
    assert channel.last_seq == first["change_seq"]


def test_unreact_is_204_and_a_change_with_its_own_seq(
    bob_api: APIClient, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi")
    added = _react(bob_api, message, "🎉").json()
    response = _unreact(bob_api, message, "🎉")
    assert response.status_code == 204
    page = bob_api.get(MESSAGES, {"channel_id": str(channel.pk), "since_seq": added["change_seq"]})
    (changed,) = page.json()["results"]
    assert changed["id"] == str(message.pk)
    assert changed["reactions"] == []
    assert changed["change_seq"] == added["change_seq"] + 1


def test_since_seq_replays_a_reaction_change(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi")
    seen = message.change_seq
    _react(bob_api, message, "👀")
    page = alice_api.get(MESSAGES, {"channel_id": str(channel.pk), "since_seq": seen}).json()
    assert [m["reactions"][0]["emoji"] for m in page["results"]] == ["👀"]


def test_trailing_slash_is_optional(bob_api: APIClient, alice: Any, channel: Any, post: Any):
    message = post(alice, channel)
    response = bob_api.post(f"{MESSAGES}/{message.pk}/reactions", {"emoji": "👍"}, format="json")
    assert response.status_code == 201
    assert bob_api.delete(f"{MESSAGES}/{message.pk}/reactions/{quote('👍')}").status_code == 204


@pytest.mark.parametrize(
    "emoji",
    ["", "a", "👍👍", ":+1:", "<b>", " 👍", 1, None, ["👍"], "x" * 65],
    ids=[
        "empty",
        "letter",
        "two",
        "shortcode",
        "markup",
        "space",
        "number",
        "null",
        "list",
        "long",
    ],
)
def test_unknown_emoji_is_400_naming_emoji(
    bob_api: APIClient, alice: Any, channel: Any, post: Any, emoji: Any
) -> None:
    message = post(alice, channel)
    assert_error(_react(bob_api, message, emoji), 400, field="emoji")
    assert not Reaction.objects.exists()


def test_skin_tones_and_sequences_are_one_emoji(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    for emoji in ("👍🏽", "👨\u200d💻", "❤️"):
        assert _react(bob_api, message, emoji).status_code == 201, emoji


def test_reacting_to_a_tombstone_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    services.message_delete(user=alice, message_id=message.pk)
    assert_error(_react(bob_api, message), 400, code="message_deleted", field="message_id")


def test_message_the_user_cannot_see_is_404(
    bob_api: APIClient, alice: Any, private_channel: Any, post: Any
) -> None:
    message = post(alice, private_channel)
    assert_error(_react(bob_api, message), 404)
    assert (
        bob_api.post(f"{MESSAGES}/{UNKNOWN}/reactions/", {"emoji": "👍"}, format="json").status_code
        == 404
    )
    assert (
        bob_api.post(f"{MESSAGES}/nope/reactions/", {"emoji": "👍"}, format="json").status_code
        == 404
    )


def test_removing_a_reaction_that_is_not_there_is_404(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    _react(alice_api, message)
    assert_error(_unreact(bob_api, message), 404, field="emoji")
    assert Reaction.objects.count() == 1


def test_at_most_20_distinct_emoji_per_message(
    bob_api: APIClient, alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    emoji = "😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚"
    for one in emoji:
        assert _react(bob_api, message, one).status_code == 201
    assert_error(_react(bob_api, message, "🎉"), 400, code="too_many_reactions", field="emoji")
    # One more person with an emoji already there is fine.
    assert _react(alice_api, message, "😀").status_code == 201


def test_archived_channel_takes_no_reactions(
    bob_api: APIClient, alice: Any, moderator: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    services.channel_archive(moderator=moderator, channel_id=channel.pk)
    assert_error(_react(bob_api, message), 403, code="archived")


def test_reactions_need_authentication(anon: APIClient, alice: Any, channel: Any, post: Any):
    message = post(alice, channel)
    assert _react(anon, message).status_code == 401
    assert _unreact(anon, message).status_code == 401


def test_reactions_past_chat_reaction_rate_are_429(
    settings: Any, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    settings.CHAT_REACTION_RATE = "2/hour"
    message = post(alice, channel)
    assert _react(bob_api, message, "👍").status_code == 201
    assert _unreact(bob_api, message, "👍").status_code == 204
    response = _react(bob_api, message, "🎉")
    assert_error(response, 429, code="rate_limited")
    assert int(response["Retry-After"]) >= 1
