"""Conversations over REST: direct messages, channel edits, member removal, people search,
and the API index (docs/api.md, "Direct messages", "Edit a channel", "Remove a member",
"People")."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from chat import services
from chat.models import Channel, Membership
from tests.contract.conftest import assert_error
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(db: None) -> Any:
    return UserFactory.create(username="carol", display_name="Carol")


def _dm(client: APIClient, *user_ids: Any) -> Any:
    return client.post("/api/chat/dms/", {"user_ids": list(user_ids)}, format="json")


# -- direct messages -------------------------------------------------------------------------


def test_a_new_dm_is_201_private_titled_by_the_others_and_listed_with_its_members(
    alice_api: APIClient, bob_api: APIClient, alice: Any, bob: Any, carol: Any
) -> None:
    created = _dm(alice_api, bob.pk, str(carol.pk))
    assert created.status_code == 201, created.content
    dm = created.json()
    assert dm["kind"] == "dm" and dm["is_private"] is True and dm["is_member"] is True
    assert dm["name"].startswith("dm.") and dm["last_seq"] == 0
    assert dm["title"] == "Bob, Carol"
    assert [member["username"] for member in dm["members"]] == ["alice", "bob", "carol"]

    listed = {item["id"]: item for item in bob_api.get("/api/chat/channels/").json()}
    assert listed[dm["id"]]["title"] == "Alice, Carol"
    assert listed[dm["id"]]["kind"] == "dm"
    assert {member["id"] for member in listed[dm["id"]]["members"]} == {
        str(alice.pk),
        str(bob.pk),
        str(carol.pk),
    }
    detail = bob_api.get(f"/api/chat/channels/{dm['id']}/").json()
    assert detail["title"] == "Alice, Carol" and detail["archived"] is False


def test_opening_a_dm_again_is_200_with_the_same_one_whoever_opens_it(
    alice_api: APIClient, bob_api: APIClient, alice: Any, bob: Any
) -> None:
    first = _dm(alice_api, bob.pk)
    assert first.status_code == 201
    again = _dm(alice_api, bob.pk, alice.pk)  # naming oneself too changes nothing
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other_way = _dm(bob_api, alice.pk)
    assert other_way.status_code == 200 and other_way.json()["id"] == first.json()["id"]
    assert Channel.objects.filter(kind="dm").count() == 1


def test_channel_lists_carry_kind_and_no_members_for_channels(
    alice_api: APIClient, channel: Any
) -> None:
    (item,) = alice_api.get("/api/chat/channels/").json()
    assert item["kind"] == "channel" and "members" not in item


def test_posting_in_a_dm_counts_unread_for_the_other_member(
    alice_api: APIClient, bob_api: APIClient, bob: Any
) -> None:
    dm = _dm(alice_api, bob.pk).json()
    sent = alice_api.post(
        "/api/chat/messages", {"channel_id": dm["id"], "content": "hi bob"}, format="json"
    )
    assert sent.status_code == 201 and sent.json()["seq"] == 1
    listed = {item["id"]: item for item in bob_api.get("/api/chat/channels/").json()}
    assert listed[dm["id"]]["unread_count"] == 1 and listed[dm["id"]]["last_seq"] == 1
    history = bob_api.get(f"/api/chat/messages?channel_id={dm['id']}").json()
    assert [message["content"] for message in history["results"]] == ["hi bob"]


def test_a_dm_does_not_exist_for_others_moderators_included(
    alice_api: APIClient,
    api_for: Any,
    moderator_api: APIClient,
    bob: Any,
    carol: Any,
) -> None:
    dm = _dm(alice_api, bob.pk).json()
    alice_api.post("/api/chat/messages", {"channel_id": dm["id"], "content": "x"}, format="json")
    for client in (api_for(carol), moderator_api):
        assert dm["id"] not in {item["id"] for item in client.get("/api/chat/channels/").json()}
        base = f"/api/chat/channels/{dm['id']}"
        assert_error(client.get(f"{base}/"), 404)
        assert_error(client.get(f"{base}/members/"), 404)
        assert_error(client.post(f"{base}/join/"), 404)
        assert_error(client.get(f"/api/chat/messages?channel_id={dm['id']}"), 404)
        assert_error(
            client.post(
                "/api/chat/messages", {"channel_id": dm["id"], "content": "hi"}, format="json"
            ),
            404,
        )
        assert_error(client.patch(f"{base}/", {"topic": "x"}, format="json"), 404)


def test_a_moderator_in_a_dm_reads_it_as_a_member(
    alice_api: APIClient, moderator_api: APIClient, moderator: Any
) -> None:
    dm = _dm(alice_api, moderator.pk).json()
    assert moderator_api.get(f"/api/chat/channels/{dm['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("user_ids", "why"),
    [
        ("self", "yourself only"),
        ("ten", "more than nine people"),
        ("unknown", "an unknown user"),
        ("inactive", "a deactivated user"),
        (["abc"], "not an id"),
        ([True], "a boolean"),
    ],
)
def test_bad_dm_member_sets_are_400_naming_user_ids(
    alice_api: APIClient, alice: Any, user_ids: Any, why: str
) -> None:
    if user_ids == "self":
        user_ids = [alice.pk]
    elif user_ids == "ten":
        user_ids = [UserFactory.create().pk for _ in range(9)]
    elif user_ids == "unknown":
        user_ids = [999999]
    elif user_ids == "inactive":
        user_ids = [UserFactory.create(is_active=False).pk]
    response = alice_api.post("/api/chat/dms/", {"user_ids": user_ids}, format="json")
    assert_error(response, 400, "validation_error", field="user_ids")
    assert not Channel.objects.filter(kind="dm").exists()
    assert not Membership.objects.filter(channel__kind="dm").exists()


@pytest.mark.parametrize("body", [{}, {"user_ids": []}, {"user_ids": "2"}, {"user_ids": None}])
def test_a_dm_request_without_a_list_of_ids_is_400(alice_api: APIClient, body: Any) -> None:
    assert_error(alice_api.post("/api/chat/dms/", body, format="json"), 400, field="user_ids")


def test_nine_people_make_a_dm(alice_api: APIClient) -> None:
    others = [UserFactory.create().pk for _ in range(8)]
    response = _dm(alice_api, *others)
    assert response.status_code == 201 and len(response.json()["members"]) == 9


def test_a_dm_needs_authentication(anon: APIClient, bob: Any) -> None:
    assert_error(_dm(anon, bob.pk), 401)


def test_dm_creation_is_rate_limited(
    alice_api: APIClient, bob: Any, carol: Any, settings: Any
) -> None:
    settings.CHAT_DM_CREATE_RATE = "2/min"
    assert _dm(alice_api, bob.pk).status_code == 201
    assert _dm(alice_api, carol.pk).status_code == 201
    response = _dm(alice_api, bob.pk, carol.pk)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert Channel.objects.filter(kind="dm").count() == 2


@pytest.mark.parametrize(
    "action",
    [
        ("post", "leave/", None),
        ("post", "members/", {"username": "carol"}),
        ("delete", "members/{bob}/", None),
        ("delete", "members/{alice}/", None),
        ("patch", "", {"title": "Plans"}),
    ],
)
def test_a_dm_cannot_be_left_grown_shrunk_or_renamed(
    alice_api: APIClient, alice: Any, bob: Any, carol: Any, action: Any
) -> None:
    dm = _dm(alice_api, bob.pk).json()
    method, path, body = action
    url = f"/api/chat/channels/{dm['id']}/" + path.format(alice=alice.pk, bob=bob.pk)
    response = getattr(alice_api, method)(url, body, format="json")
    assert_error(response, 403, "direct_message")
    assert Membership.objects.filter(channel_id=dm["id"]).count() == 2


def test_a_dm_cannot_be_archived_by_a_moderator_in_it(alice: Any, moderator: Any) -> None:
    from chat.exceptions import PermissionDenied

    dm, _ = services.dm_open(user=alice, user_ids=[moderator.pk])
    with pytest.raises(PermissionDenied):
        services.channel_archive(moderator=moderator, channel_id=dm.pk)


def test_two_people_opening_the_same_dm_at_once_get_one(
    transactional_db: None, alice: Any, bob: Any
) -> None:
    """The unique member key holds under a race: both requests answer the same DM."""
    from chatsite import rls

    barrier = threading.Barrier(2)
    results: list[Any] = []

    def open_dm(user: Any, other: Any) -> None:
        try:
            barrier.wait(timeout=5)
            with rls.acting_as_user(user):
                results.append(services.dm_open(user=user, user_ids=[other.pk]))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=open_dm, args=(alice, bob)),
        threading.Thread(target=open_dm, args=(bob, alice)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 2
    assert results[0][0].pk == results[1][0].pk
    assert sorted(created for _, created in results) == [False, True]
    assert Channel.objects.filter(kind="dm").count() == 1
    assert Membership.objects.filter(channel__kind="dm").count() == 2


# -- editing a channel ------------------------------------------------------------------------


def test_the_owner_edits_title_and_topic(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.patch(
        f"/api/chat/channels/{channel.pk}/",
        {"title": "General chat", "topic": "Anything goes"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "General chat" and body["topic"] == "Anything goes"
    assert body["is_member"] is True and "created_at" in body
    channel.refresh_from_db()
    assert (channel.title, channel.topic) == ("General chat", "Anything goes")


def test_a_blank_title_falls_back_to_the_name_and_fields_left_out_stay(
    alice_api: APIClient, channel: Any
) -> None:
    alice_api.patch(f"/api/chat/channels/{channel.pk}/", {"topic": "Kept"}, format="json")
    response = alice_api.patch(f"/api/chat/channels/{channel.pk}/", {"title": ""}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == channel.name and response.json()["topic"] == "Kept"


def test_a_moderator_edits_any_channel(moderator_api: APIClient, private_channel: Any) -> None:
    response = moderator_api.patch(
        f"/api/chat/channels/{private_channel.pk}/", {"topic": "Moderated"}, format="json"
    )
    assert response.status_code == 200 and response.json()["topic"] == "Moderated"


def test_a_member_who_does_not_own_the_channel_cannot_edit_it(
    bob_api: APIClient, bob: Any, channel: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    response = bob_api.patch(f"/api/chat/channels/{channel.pk}/", {"topic": "x"}, format="json")
    assert_error(response, 403, "permission_denied")
    channel.refresh_from_db()
    assert channel.topic == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"topic": "x" * 501}, "topic"),
        ({"title": 5}, "title"),
        ({"topic": None}, "topic"),
        ({"title": "a\u0000b"}, "title"),
    ],
)
def test_bad_channel_edits_are_400_naming_the_field(
    alice_api: APIClient, channel: Any, body: Any, field: str
) -> None:
    response = alice_api.patch(f"/api/chat/channels/{channel.pk}/", body, format="json")
    assert_error(response, 400, "validation_error", field=field)


def test_editing_unknown_private_or_archived_channels(
    alice_api: APIClient, bob_api: APIClient, private_channel: Any, channel: Any
) -> None:
    assert_error(alice_api.patch("/api/chat/channels/nope/", {}, format="json"), 404)
    assert_error(
        bob_api.patch(f"/api/chat/channels/{private_channel.pk}/", {"topic": "x"}, format="json"),
        404,
    )
    Channel.objects.filter(pk=channel.pk).update(archived_at="2026-01-01T00:00:00Z")
    assert_error(
        alice_api.patch(f"/api/chat/channels/{channel.pk}/", {"topic": "x"}, format="json"),
        403,
        "archived",
    )


def test_channel_edits_spend_the_edit_budget(
    alice_api: APIClient, channel: Any, settings: Any
) -> None:
    settings.CHAT_EDIT_RATE = "1/min"
    url = f"/api/chat/channels/{channel.pk}/"
    assert alice_api.patch(url, {"topic": "one"}, format="json").status_code == 200
    assert_error(alice_api.patch(url, {"topic": "two"}, format="json"), 429, "rate_limited")


# -- removing members -------------------------------------------------------------------------


def test_the_owner_removes_a_member(alice_api: APIClient, bob: Any, private_channel: Any) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    response = alice_api.delete(f"/api/chat/channels/{private_channel.pk}/members/{bob.pk}/")
    assert response.status_code == 204
    assert not Membership.objects.filter(channel=private_channel, user=bob).exists()


def test_a_member_removes_themselves_and_nobody_else(
    bob_api: APIClient, alice: Any, bob: Any, carol: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    MembershipFactory.create(channel=private_channel, user=carol)
    base = f"/api/chat/channels/{private_channel.pk}/members"
    assert_error(bob_api.delete(f"{base}/{carol.pk}/"), 403, "permission_denied")
    assert bob_api.delete(f"{base}/{bob.pk}").status_code == 204
    assert Membership.objects.filter(channel=private_channel, user=carol).exists()


def test_a_moderator_removes_anyone_but_the_last_owner(
    moderator_api: APIClient, alice: Any, bob: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    base = f"/api/chat/channels/{private_channel.pk}/members"
    assert moderator_api.delete(f"{base}/{bob.pk}/").status_code == 204
    assert_error(moderator_api.delete(f"{base}/{alice.pk}/"), 400, "last_owner", field="user_id")
    assert Membership.objects.filter(channel=private_channel, user=alice).exists()


def test_the_last_owner_of_a_private_channel_cannot_leave_until_another_owns_it(
    alice_api: APIClient, alice: Any, bob: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    base = f"/api/chat/channels/{private_channel.pk}"
    assert_error(alice_api.delete(f"{base}/members/{alice.pk}/"), 400, "last_owner")
    assert_error(alice_api.post(f"{base}/leave/"), 400, "last_owner")
    services.channel_member_set_role(
        actor=alice, channel_id=private_channel.pk, user=bob, role="owner"
    )
    assert alice_api.delete(f"{base}/members/{alice.pk}/").status_code == 204


def test_the_last_owner_of_a_public_channel_may_leave(
    alice_api: APIClient, alice: Any, channel: Any
) -> None:
    response = alice_api.delete(f"/api/chat/channels/{channel.pk}/members/{alice.pk}/")
    assert response.status_code == 204


def test_removing_unknown_people_or_non_members_is_404(
    alice_api: APIClient, bob: Any, private_channel: Any
) -> None:
    base = f"/api/chat/channels/{private_channel.pk}/members"
    for user_id in ("999999", "abc", "1" * 40):
        assert_error(alice_api.delete(f"{base}/{user_id}/"), 404)
    assert_error(alice_api.delete(f"{base}/{bob.pk}/"), 404)
    assert_error(alice_api.delete(f"/api/chat/channels/nope/members/{bob.pk}/"), 404)


def test_removing_from_a_private_channel_one_cannot_see_is_404(
    bob_api: APIClient, alice: Any, private_channel: Any
) -> None:
    response = bob_api.delete(f"/api/chat/channels/{private_channel.pk}/members/{alice.pk}/")
    assert_error(response, 404)


def test_member_removals_spend_the_member_budget(
    alice_api: APIClient, bob: Any, carol: Any, private_channel: Any, settings: Any
) -> None:
    settings.CHAT_MEMBER_ADD_RATE = "1/min"
    MembershipFactory.create(channel=private_channel, user=bob)
    MembershipFactory.create(channel=private_channel, user=carol)
    base = f"/api/chat/channels/{private_channel.pk}/members"
    assert alice_api.delete(f"{base}/{bob.pk}/").status_code == 204
    assert_error(alice_api.delete(f"{base}/{carol.pk}/"), 429, "rate_limited")
    assert Membership.objects.filter(channel=private_channel, user=carol).exists()


# -- people -----------------------------------------------------------------------------------


def test_people_search_matches_the_start_of_username_or_display_name_in_any_case(
    alice_api: APIClient, alice: Any, bob: Any, carol: Any
) -> None:
    UserFactory.create(username="robert", display_name="Bobby Tables")
    UserFactory.create(username="bobo", display_name="", is_active=False)
    found = alice_api.get("/api/users/?q=BO")
    assert found.status_code == 200
    assert [user["username"] for user in found.json()] == ["bob", "robert"]
    assert set(found.json()[0]) == {"id", "username", "display_name", "is_bot"}
    assert [user["username"] for user in alice_api.get("/api/users?q=car").json()] == ["carol"]
    assert alice_api.get("/api/users/?q=ob").json() == []  # a prefix, not a substring


def test_people_search_lists_at_most_20(alice_api: APIClient) -> None:
    for number in range(25):
        UserFactory.create(username=f"zed{number:02d}")
    assert len(alice_api.get("/api/users/?q=zed").json()) == 20
    assert len(alice_api.get("/api/users/?q=zed&limit=5").json()) == 5
    assert len(alice_api.get("/api/users/").json()) == 20


@pytest.mark.parametrize("query", ["q=", "limit=0", "limit=21", "limit=x", f"q={'a' * 151}"])
def test_bad_people_searches_are_400(alice_api: APIClient, query: str) -> None:
    assert_error(alice_api.get(f"/api/users/?{query}"), 400, "validation_error")


def test_people_search_needs_authentication_and_is_rate_limited(
    anon: APIClient, alice_api: APIClient, settings: Any
) -> None:
    assert_error(anon.get("/api/users/?q=a"), 401)
    settings.CHAT_USER_SEARCH_RATE = "1/min"
    assert alice_api.get("/api/users/?q=a").status_code == 200
    assert_error(alice_api.get("/api/users/?q=a"), 429, "rate_limited")


# -- the index --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/", "/api"])
def test_the_api_root_is_an_index_for_everyone(anon: APIClient, path: str) -> None:
    response = anon.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["schema"] == "/api/schema/" and body["docs"] == "/api/docs/"
    assert body["channels"] == "/api/chat/channels/"
    assert body["direct_messages"] == "/api/chat/dms/"


def test_the_api_root_is_browsable(anon: APIClient) -> None:
    response = anon.get("/api/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"/api/chat/channels/" in response.content
    assert response["Content-Type"].startswith("text/html")


def test_other_unknown_api_paths_stay_404(anon: APIClient) -> None:
    assert_error(anon.get("/api/nothing-here/"), 404, "not_found")


def test_two_last_owners_leaving_at_once_leave_one_owner(
    transactional_db: None, alice: Any, bob: Any
) -> None:
    """Owners take turns: the second sees that it would be the last one."""
    from chat.exceptions import ValidationError
    from chatsite import rls

    with rls.acting_as_user(alice):
        room = services.channel_create(user=alice, name="pair", is_private=True)
        services.channel_member_add(actor=alice, channel_id=room.pk, user=bob)
        services.channel_member_set_role(actor=alice, channel_id=room.pk, user=bob, role="owner")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def leave(user: Any) -> None:
        try:
            barrier.wait(timeout=5)
            with rls.acting_as_user(user):
                services.channel_member_remove(actor=user, channel_id=room.pk, user=user)
            outcomes.append("left")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(user,)) for user in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["last_owner", "left"]
    assert Membership.objects.filter(channel=room, role="owner").count() == 1
