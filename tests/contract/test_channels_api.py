"""/api/chat/channels/: list, create, detail, join, leave, members, read marker."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chat.models import Channel, Membership
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANNEL_KEYS = {
    "id",
    "name",
    "kind",
    "title",
    "topic",
    "is_private",
    "is_member",
    "last_seq",
    "unread_count",
    "unread_mentions",
    "notify",
    "muted",
}
MISSING = "00000000-0000-0000-0000-000000000000"


def test_list_shows_public_and_own_private_channels_with_unread_counts(
    alice_api: APIClient,
    bob_api: APIClient,
    alice: Any,
    bob: Any,
    channel: Any,
    private_channel: Any,
    post: Any,
) -> None:
    ChannelFactory.create(name="random")
    MembershipFactory.create(channel=channel, user=bob)
    post(bob, channel, "one")
    post(bob, channel, "two")
    post(alice, channel, "mine")

    response = alice_api.get("/api/chat/channels/")
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()}
    assert set(by_name) == {"general", "random", "secret"}
    assert all(set(item) == CHANNEL_KEYS for item in by_name.values())
    general = by_name["general"]
    assert general["is_member"] is True
    assert general["last_seq"] == 3
    assert general["unread_count"] == 2
    assert by_name["random"]["is_member"] is False
    assert by_name["random"]["unread_count"] == 0

    names_for_bob = {item["name"] for item in bob_api.get("/api/chat/channels").json()}
    assert names_for_bob == {"general", "random"}


def test_list_without_credentials_is_401(anon: APIClient) -> None:
    assert_error(anon.get("/api/chat/channels/"), 401)


def test_create_makes_the_creator_owner(alice_api: APIClient, alice: Any) -> None:
    response = alice_api.post(
        "/api/chat/channels/",
        {"name": "design-team", "title": "Design", "topic": "Pixels", "is_private": True},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= CHANNEL_KEYS
    assert body["name"] == "design-team"
    assert body["is_private"] is True
    assert body["is_member"] is True
    assert body["archived"] is False
    membership = Membership.objects.get(channel_id=body["id"], user=alice)
    assert membership.role == Membership.Role.OWNER


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({}, "name"),
        ({"name": 5}, "name"),
        ({"name": "general"}, "name"),
        ({"name": "ok-name", "is_private": "perhaps"}, "is_private"),
        ({"name": "ok-name", "title": "t" * 201}, "title"),
    ],
)
def test_create_with_bad_input_is_400_naming_the_field(
    alice_api: APIClient, channel: Any, payload: dict[str, Any], field: str
) -> None:
    response = alice_api.post("/api/chat/channels/", payload, format="json")
    assert_error(response, 400, "validation_error", field)


def test_create_without_credentials_is_401(anon: APIClient) -> None:
    assert_error(anon.post("/api/chat/channels/", {"name": "x"}, format="json"), 401)


def test_detail(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.get(f"/api/chat/channels/{channel.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(channel.pk)
    assert response.json()["is_member"] is True


@pytest.mark.parametrize("channel_id", [MISSING, "not-a-uuid"])
def test_detail_of_unknown_channel_is_404(alice_api: APIClient, channel_id: str) -> None:
    assert_error(alice_api.get(f"/api/chat/channels/{channel_id}/"), 404, "not_found")


def test_detail_without_credentials_is_401(anon: APIClient, channel: Any) -> None:
    assert_error(anon.get(f"/api/chat/channels/{channel.pk}/"), 401)


def test_join_and_leave(bob_api: APIClient, bob: Any, channel: Any) -> None:
    joined = bob_api.post(f"/api/chat/channels/{channel.pk}/join/")
    assert joined.status_code == 200
    assert joined.json()["is_member"] is True
    assert Membership.objects.filter(channel=channel, user=bob).exists()
    again = bob_api.post(f"/api/chat/channels/{channel.pk}/join")
    assert again.status_code == 200

    left = bob_api.post(f"/api/chat/channels/{channel.pk}/leave/")
    assert left.status_code == 204
    assert left.content == b""
    assert not Membership.objects.filter(channel=channel, user=bob).exists()


def test_join_an_archived_channel_is_403(bob_api: APIClient, channel: Any) -> None:
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())
    assert_error(bob_api.post(f"/api/chat/channels/{channel.pk}/join/"), 403, "archived")


def test_moderator_cannot_join_a_private_channel_uninvited(
    moderator_api: APIClient, private_channel: Any
) -> None:
    response = moderator_api.post(f"/api/chat/channels/{private_channel.pk}/join/")
    assert_error(response, 403, "permission_denied")


@pytest.mark.parametrize("action", ["join", "leave"])
def test_join_or_leave_unknown_channel_is_404_and_needs_auth(
    alice_api: APIClient, anon: APIClient, channel: Any, action: str
) -> None:
    assert_error(alice_api.post(f"/api/chat/channels/{MISSING}/{action}/"), 404)
    assert_error(anon.post(f"/api/chat/channels/{channel.pk}/{action}/"), 401)


def test_members_list(alice_api: APIClient, alice: Any, bob: Any, channel: Any) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    response = alice_api.get(f"/api/chat/channels/{channel.pk}/members/")
    assert response.status_code == 200
    members = response.json()
    assert [m["user"]["username"] for m in members] == ["alice", "bob"]
    assert members[0] == {
        "user": {
            "id": str(alice.pk),
            "username": "alice",
            "display_name": "Alice",
            "is_bot": False,
        },
        "role": "owner",
        "joined_at": members[0]["joined_at"],
    }
    assert members[1]["role"] == "member"


def test_owner_adds_a_member_by_id_or_username(
    alice_api: APIClient, bob: Any, private_channel: Any
) -> None:
    url = f"/api/chat/channels/{private_channel.pk}/members/"
    response = alice_api.post(url, {"user_id": str(bob.pk)}, format="json")
    assert response.status_code == 201
    assert response.json()["user"]["username"] == "bob"
    assert response.json()["role"] == "member"
    again = alice_api.post(url, {"username": "bob"}, format="json")
    assert again.status_code == 200


def test_moderator_adds_a_member(moderator_api: APIClient, bob: Any, private_channel: Any) -> None:
    url = f"/api/chat/channels/{private_channel.pk}/members/"
    assert moderator_api.post(url, {"user_id": bob.pk}, format="json").status_code == 201


def test_a_plain_member_cannot_add_members(bob_api: APIClient, bob: Any, channel: Any) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    carol = UserFactory.create(username="carol")
    url = f"/api/chat/channels/{channel.pk}/members/"
    assert_error(bob_api.post(url, {"user_id": carol.pk}, format="json"), 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "user_id"),
        ({"user_id": "abc"}, "user_id"),
        ({"user_id": "999999999"}, "user_id"),
        ({"user_id": "99999999999999999999"}, "user_id"),
        ({"user_id": "1", "username": "bob"}, "user_id"),
        ({"username": "nobody-here"}, "username"),
        ({"user_id": [1]}, "user_id"),
    ],
)
def test_adding_with_bad_input_is_400(
    alice_api: APIClient, bob: Any, channel: Any, payload: dict[str, Any], field: str
) -> None:
    url = f"/api/chat/channels/{channel.pk}/members/"
    assert_error(alice_api.post(url, payload, format="json"), 400, "validation_error", field)


def test_adding_an_inactive_user_is_400(alice_api: APIClient, channel: Any) -> None:
    gone = UserFactory.create(is_active=False)
    url = f"/api/chat/channels/{channel.pk}/members/"
    assert_error(alice_api.post(url, {"user_id": gone.pk}, format="json"), 400)


def test_members_of_unknown_channel_is_404_and_needs_auth(
    alice_api: APIClient, anon: APIClient, channel: Any
) -> None:
    assert_error(alice_api.get(f"/api/chat/channels/{MISSING}/members/"), 404)
    assert_error(
        alice_api.post(f"/api/chat/channels/{MISSING}/members/", {"username": "alice"}), 404
    )
    assert_error(anon.get(f"/api/chat/channels/{channel.pk}/members/"), 401)


def test_read_marker_moves_forward_and_clears_unread(
    alice_api: APIClient, bob: Any, alice: Any, channel: Any, post: Any
) -> None:
    for text in ("a", "b", "c"):
        post(bob, channel, text)
    url = f"/api/chat/channels/{channel.pk}/read/"
    response = alice_api.post(url, {"seq": 2}, format="json")
    assert response.status_code == 204
    listed = {c["name"]: c for c in alice_api.get("/api/chat/channels/").json()}
    assert listed["general"]["unread_count"] == 1
    assert alice_api.post(url, {"seq": 3}, format="json").status_code == 204
    assert alice_api.post(url, {"seq": 1}, format="json").status_code == 204
    assert Membership.objects.get(channel=channel, user=alice).last_read_seq == 3


@pytest.mark.parametrize("payload", [{}, {"seq": -1}, {"seq": "x"}, {"seq": 2**64}])
def test_read_marker_with_bad_seq_is_400(
    alice_api: APIClient, channel: Any, payload: dict[str, Any]
) -> None:
    url = f"/api/chat/channels/{channel.pk}/read/"
    assert_error(alice_api.post(url, payload, format="json"), 400, "validation_error", "seq")


def test_read_marker_needs_membership_auth_and_a_channel(
    bob_api: APIClient, anon: APIClient, channel: Any
) -> None:
    url = f"/api/chat/channels/{channel.pk}/read/"
    assert_error(bob_api.post(url, {"seq": 1}, format="json"), 400, field="channel_id")
    assert_error(anon.post(url, {"seq": 1}, format="json"), 401)
    missing = f"/api/chat/channels/{MISSING}/read/"
    assert_error(bob_api.post(missing, {"seq": 1}, format="json"), 404)


def test_a_private_channel_of_others_is_404_everywhere_and_unlisted(
    bob_api: APIClient, alice: Any, bob: Any, private_channel: Any, post: Any
) -> None:
    message = post(alice, private_channel, "secret")
    base = f"/api/chat/channels/{private_channel.pk}"
    assert "secret" not in {c["name"] for c in bob_api.get("/api/chat/channels/").json()}
    assert_error(bob_api.get(f"{base}/"), 404)
    assert_error(bob_api.post(f"{base}/join/"), 404)
    assert_error(bob_api.post(f"{base}/leave/"), 404)
    assert_error(bob_api.get(f"{base}/members/"), 404)
    assert_error(bob_api.post(f"{base}/members/", {"username": "bob"}, format="json"), 404)
    assert_error(bob_api.post(f"{base}/read/", {"seq": 1}, format="json"), 404)
    assert_error(bob_api.get(f"/api/chat/messages?channel_id={private_channel.pk}"), 404)
    send = {"channel_id": str(private_channel.pk), "content": "hi"}
    assert_error(bob_api.post("/api/chat/messages", send, format="json"), 404)
    assert_error(bob_api.get(f"/api/chat/messages/{message.pk}"), 404)
    edit = {"content": "x"}
    assert_error(bob_api.patch(f"/api/chat/messages/{message.pk}", edit, format="json"), 404)
    assert_error(bob_api.delete(f"/api/chat/messages/{message.pk}"), 404)
    assert not Membership.objects.filter(channel=private_channel, user=bob).exists()
