"""Slash commands: POST /api/chat/channels/{id}/commands/, and message sends that hold one
(docs/api.md, "Slash commands")."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import Membership, Message
from tests.contract.conftest import assert_error
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"


def _run(client: APIClient, channel: Any, text: Any, **extra: Any) -> Any:
    return client.post(
        f"/api/chat/channels/{channel.pk}/commands/", {"text": text, **extra}, format="json"
    )


def test_me_posts_an_action_message(alice_api: APIClient, channel: Any) -> None:
    response = _run(alice_api, channel, "/me waves at *everyone*")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["command"] == "me"
    message = body["message"]
    assert (message["content"], message["action"]) == ("waves at *everyone*", True)
    assert "<em>everyone</em>" in message["rendered"]
    page = alice_api.get("/api/chat/messages", {"channel_id": str(channel.pk)}).json()
    assert [m["action"] for m in page["results"]] == [True]


def test_shrug_appends_the_shrug_as_typed(alice_api: APIClient, channel: Any) -> None:
    body = _run(alice_api, channel, "/shrug no idea").json()
    assert body["command"] == "shrug"
    assert body["message"]["action"] is False
    assert "no idea ¯\\_(ツ)_/¯" in body["message"]["rendered"]
    alone = _run(alice_api, channel, "/shrug").json()["message"]
    assert alone["rendered"] == "<p>¯\\_(ツ)_/¯</p>"


def test_me_with_a_client_id_twice_posts_once(alice_api: APIClient, channel: Any) -> None:
    client_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    first = _run(alice_api, channel, "/me waves", client_id=client_id).json()
    again = _run(alice_api, channel, "/me waves", client_id=client_id).json()
    assert first["message"]["id"] == again["message"]["id"]
    assert Message.objects.filter(channel=channel).count() == 1


def test_me_in_a_thread(alice_api: APIClient, alice: Any, channel: Any, post: Any) -> None:
    parent = post(alice, channel, "parent")
    body = _run(alice_api, channel, "/me agrees", parent_id=str(parent.pk)).json()
    assert body["message"]["parent_id"] == str(parent.pk)


def test_topic_updates_the_channel_for_its_owner(alice_api: APIClient, channel: Any) -> None:
    body = _run(alice_api, channel, "/topic Release day")
    assert body.status_code == 200
    assert body.json() == {"command": "topic", "message": None}
    channel.refresh_from_db()
    assert channel.topic == "Release day"
    _run(alice_api, channel, "/topic")
    channel.refresh_from_db()
    assert channel.topic == ""


def test_topic_by_a_plain_member_of_a_private_channel_is_403(
    api_for: Any, bob: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    assert_error(_run(api_for(bob), private_channel, "/topic mine now"), 403)
    private_channel.refresh_from_db()
    assert private_channel.topic == ""


def test_topic_too_long_or_on_two_lines_is_400(alice_api: APIClient, channel: Any) -> None:
    assert_error(_run(alice_api, channel, "/topic " + "x" * 501), 400, field="text")
    assert_error(_run(alice_api, channel, "/topic one\ntwo"), 400, field="text")


def test_invite_adds_a_member_with_the_owners_rights(
    alice_api: APIClient, bob_api: APIClient, bob: Any, user_factory: Any, private_channel: Any
) -> None:
    assert _run(alice_api, private_channel, "/invite @bob").json()["command"] == "invite"
    assert Membership.objects.filter(channel=private_channel, user=bob).exists()
    carol = user_factory.create(username="carol")
    # bob is a member, not an owner: he may not add people.
    assert_error(_run(bob_api, private_channel, "/invite carol"), 403)
    assert not Membership.objects.filter(channel=private_channel, user=carol).exists()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("/invite", "bad_command"),
        ("/invite @bob @carol", "bad_command"),
        ("/invite @nobody", "unknown_user"),
    ],
)
def test_bad_invites_are_400(
    alice_api: APIClient, bob: Any, private_channel: Any, text: str, code: str
) -> None:
    assert_error(_run(alice_api, private_channel, text), 400, code, "text")
    assert Membership.objects.filter(channel=private_channel).count() == 1


def test_leave_leaves_the_channel(bob_api: APIClient, bob: Any, channel: Any) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    assert _run(bob_api, channel, "/leave").json() == {"command": "leave", "message": None}
    assert not Membership.objects.filter(channel=channel, user=bob).exists()
    assert_error(_run(bob_api, channel, "/leave now"), 400, "bad_command", "text")


def test_leave_a_direct_message_is_refused(alice_api: APIClient, alice: Any, bob: Any) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    assert_error(_run(alice_api, dm, "/leave"), 403, "direct_message")
    assert Membership.objects.filter(channel=dm).count() == 2


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("/dance", "unknown_command"),
        ("/me", "bad_command"),
        ("plain text", "not_a_command"),
        ("//me waves", "not_a_command"),
    ],
)
def test_unknown_or_empty_commands_are_400_and_post_nothing(
    alice_api: APIClient, channel: Any, text: str, code: str
) -> None:
    assert_error(_run(alice_api, channel, text), 400, code, "text")
    assert not Message.objects.exists()


@pytest.mark.parametrize("text", [None, 5, "", "/me \x00", "/me " + "x" * 4001])
def test_bad_command_text_is_400_naming_text(alice_api: APIClient, channel: Any, text: Any) -> None:
    assert_error(_run(alice_api, channel, text), 400, field="text")


def test_commands_in_an_unknown_or_hidden_channel_are_404(
    bob_api: APIClient, private_channel: Any
) -> None:
    assert_error(
        bob_api.post(f"/api/chat/channels/{UNKNOWN}/commands/", {"text": "/shrug"}, format="json"),
        404,
    )
    assert_error(_run(bob_api, private_channel, "/me peeks"), 404)
    assert_error(_run(bob_api, private_channel, "/leave"), 404)


def test_topic_in_a_thread_is_400(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "parent")
    assert_error(
        _run(alice_api, channel, "/topic x", parent_id=str(parent.pk)), 400, field="parent_id"
    )


def test_commands_share_the_message_budget_when_they_post(
    settings: Any, alice_api: APIClient, channel: Any
) -> None:
    settings.CHAT_MESSAGE_RATE = "1/hour"
    assert _run(alice_api, channel, "/me one").status_code == 200
    assert_error(_run(alice_api, channel, "/shrug"), 429, "rate_limited")


# --- message sends --------------------------------------------------------------------


def test_a_message_send_holding_a_command_is_400_and_posts_nothing(
    alice_api: APIClient, channel: Any
) -> None:
    topic = channel.topic
    for content in ("/topic Release day", "/dance", "/Me waves"):
        response = alice_api.post(
            "/api/chat/messages", {"channel_id": str(channel.pk), "content": content}, format="json"
        )
        assert_error(response, 400, "command", "content")
    assert not Message.objects.exists()
    channel.refresh_from_db()
    assert channel.topic == topic


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("//etc/hosts", "/etc/hosts"),
        ("// spaced", "/ spaced"),
        ("/ not a command", "/ not a command"),
        ("/123", "/123"),
    ],
)
def test_two_slashes_send_one_and_non_commands_go_as_typed(
    alice_api: APIClient, channel: Any, sent: str, stored: str
) -> None:
    response = alice_api.post(
        "/api/chat/messages", {"channel_id": str(channel.pk), "content": sent}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["content"] == stored


def test_commands_are_rate_limited_per_user_unknown_ones_included(
    settings: Any, alice_api: APIClient, channel: Any
) -> None:
    settings.CHAT_COMMAND_RATE = "2/hour"
    assert _run(alice_api, channel, "/dance").status_code == 400
    assert _run(alice_api, channel, "/topic one").status_code == 200
    response = _run(alice_api, channel, "/topic two")
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    channel.refresh_from_db()
    assert channel.topic == "one"
