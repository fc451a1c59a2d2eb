"""GET /api/chat/mentions/, unread_mentions on the channel shapes, and
PATCH /api/chat/channels/{id}/membership/ (docs/api.md, "Mentions")."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import Membership
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MENTION_KEYS = {"id", "kind", "created_at", "unread", "channel", "message"}
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def bob_in(bob: Any, channel: Any) -> Any:
    MembershipFactory.create(channel=channel, user=bob)
    return bob


def _channel(api: APIClient, channel: Any) -> dict[str, Any]:
    response = api.get(f"/api/chat/channels/{channel.pk}/")
    assert response.status_code == 200
    return response.json()


def test_mentions_are_listed_newest_first_with_their_message(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    first = post(alice, channel, "@bob first")
    post(alice, channel, "no mention")
    second = post(alice, channel, "@channel second")
    response = bob_api.get("/api/chat/mentions/")
    assert response.status_code == 200
    body = response.json()
    assert [item["message"]["id"] for item in body] == [str(second.pk), str(first.pk)]
    assert [item["kind"] for item in body] == ["channel", "user"]
    assert all(set(item) == MENTION_KEYS for item in body)
    assert body[0]["channel"] == {
        "id": str(channel.pk),
        "name": "general",
        "kind": "channel",
        "title": channel.title or "general",
    }
    assert body[0]["unread"] is True
    assert body[1]["message"]["rendered"].startswith('<p><span class="mention"')


def test_the_list_pages_by_a_link_header(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    sent = [post(alice, channel, f"@bob {n}") for n in range(3)]
    response = bob_api.get("/api/chat/mentions/?limit=2")
    assert [item["message"]["id"] for item in response.json()] == [
        str(sent[2].pk),
        str(sent[1].pk),
    ]
    link = response["Link"]
    assert link.endswith('rel="next"')
    following = bob_api.get(link[1 : link.index(">")])
    assert [item["message"]["id"] for item in following.json()] == [str(sent[0].pk)]
    assert "Link" not in following


def test_only_the_callers_mentions_are_listed(
    alice_api: APIClient, bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    post(alice, channel, "@bob")
    assert alice_api.get("/api/chat/mentions/").json() == []
    assert len(bob_api.get("/api/chat/mentions/").json()) == 1


def test_a_mention_in_a_private_channel_leaks_nothing_to_a_non_member(
    bob_api: APIClient, alice: Any, bob: Any, private_channel: Any, post: Any
) -> None:
    post(alice, private_channel, "@bob the secret plan")
    assert bob_api.get("/api/chat/mentions/").json() == []
    names = {item["name"] for item in bob_api.get("/api/chat/channels/").json()}
    assert "secret" not in names


def test_leaving_a_channel_takes_its_mentions_off_the_list(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    post(alice, channel, "@bob")
    services.channel_leave(user=bob_in, channel_id=channel.pk)
    assert bob_api.get("/api/chat/mentions/").json() == []


def test_a_deleted_message_leaves_the_list_and_the_count(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "@bob oops")
    assert _channel(bob_api, channel)["unread_mentions"] == 1
    services.message_delete(user=alice, message_id=message.pk)
    assert bob_api.get("/api/chat/mentions/").json() == []
    assert _channel(bob_api, channel)["unread_mentions"] == 0


def test_unread_mentions_count_until_the_read_marker_passes_them(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    first = post(alice, channel, "@bob one")
    post(alice, channel, "@bob two")
    general = _channel(bob_api, channel)
    assert (general["unread_count"], general["unread_mentions"]) == (2, 2)
    assert (general["notify"], general["muted"]) == ("mentions", False)
    services.channel_mark_read(user=bob_in, channel_id=channel.pk, seq=first.seq)
    assert _channel(bob_api, channel)["unread_mentions"] == 1
    listed = bob_api.get("/api/chat/mentions/").json()
    assert [item["unread"] for item in listed] == [True, False]
    by_name = {item["name"]: item for item in bob_api.get("/api/chat/channels/").json()}
    assert by_name["general"]["unread_mentions"] == 1


def test_a_direct_message_counts_as_a_mention(
    bob_api: APIClient, alice: Any, bob: Any, post: Any
) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    post(alice, dm, "hey")
    listed = bob_api.get("/api/chat/channels/?kind=dm").json()
    assert [(item["id"], item["unread_mentions"]) for item in listed] == [(str(dm.pk), 1)]
    (mention,) = bob_api.get("/api/chat/mentions/").json()
    assert mention["kind"] == "dm"
    assert mention["channel"]["title"] == "Alice"


def test_a_non_member_sees_no_counts_or_settings(
    bob_api: APIClient, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    post(alice, channel, "@channel hello")
    general = _channel(bob_api, channel)
    assert (general["is_member"], general["unread_mentions"]) == (False, 0)
    assert (general["notify"], general["muted"]) == (None, False)


def test_muted_channels_still_count_mentions(
    bob_api: APIClient, alice: Any, bob_in: Any, channel: Any, post: Any
) -> None:
    response = bob_api.patch(
        f"/api/chat/channels/{channel.pk}/membership/", {"muted": True}, format="json"
    )
    assert response.status_code == 200
    post(alice, channel, "@bob even so")
    general = _channel(bob_api, channel)
    assert (general["muted"], general["unread_mentions"]) == (True, 1)


# --- PATCH /api/chat/channels/{id}/membership/ -------------------------------------------------


def test_membership_patch_changes_notify_and_muted(
    bob_api: APIClient, bob_in: Any, channel: Any
) -> None:
    url = f"/api/chat/channels/{channel.pk}/membership/"
    response = bob_api.patch(url, {"notify": "all"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "channel_id": str(channel.pk),
        "role": "member",
        "notify": "all",
        "muted": False,
        "last_read_seq": 0,
    }
    response = bob_api.patch(url, {"notify": "none", "muted": True}, format="json")
    assert (response.json()["notify"], response.json()["muted"]) == ("none", True)
    membership = Membership.objects.get(channel=channel, user=bob_in)
    assert (membership.notify, membership.muted) == ("none", True)
    # Without a trailing slash too, and an empty body changes nothing.
    response = bob_api.patch(url.rstrip("/"), {}, format="json")
    assert (response.status_code, response.json()["notify"]) == (200, "none")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notify": "sometimes"}, "notify"),
        ({"notify": 1}, "notify"),
        ({"notify": None}, "notify"),
        ({"notify": ["all"]}, "notify"),
        ({"muted": "yes"}, "muted"),
        ({"muted": 1}, "muted"),
        ({"muted": None}, "muted"),
    ],
)
def test_membership_patch_refuses_bad_values_naming_the_field(
    bob_api: APIClient, bob_in: Any, channel: Any, body: dict[str, Any], field: str
) -> None:
    response = bob_api.patch(f"/api/chat/channels/{channel.pk}/membership/", body, format="json")
    assert_error(response, 400, code="validation_error", field=field)
    membership = Membership.objects.get(channel=channel, user=bob_in)
    assert (membership.notify, membership.muted) == ("mentions", False)


def test_membership_patch_is_404_for_a_non_member_and_a_hidden_or_missing_channel(
    bob_api: APIClient, bob: Any, channel: Any, private_channel: Any
) -> None:
    for target in (channel.pk, private_channel.pk, MISSING, "not-a-uuid"):
        response = bob_api.patch(
            f"/api/chat/channels/{target}/membership/", {"muted": True}, format="json"
        )
        assert_error(response, 404, code="not_found")
    assert not Membership.objects.filter(user=bob).exists()


def test_membership_patch_needs_authentication(anon: APIClient, channel: Any) -> None:
    response = anon.patch(f"/api/chat/channels/{channel.pk}/membership/", {}, format="json")
    assert response.status_code == 401
    assert anon.get("/api/chat/mentions/").status_code == 401


def test_membership_changes_past_chat_membership_rate_are_429(
    settings: Any, bob_api: APIClient, bob_in: Any, channel: Any
) -> None:
    settings.CHAT_MEMBERSHIP_RATE = "2/hour"
    url = f"/api/chat/channels/{channel.pk}/membership/"
    assert bob_api.patch(url, {"muted": True}, format="json").status_code == 200
    assert bob_api.patch(url, {"muted": False}, format="json").status_code == 200
    response = bob_api.patch(url, {"notify": "all"}, format="json")
    assert_error(response, 429, code="rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert Membership.objects.get(channel=channel, user=bob_in).notify == "mentions"


def test_mention_list_reads_past_chat_mention_list_rate_are_429(
    settings: Any, bob_api: APIClient
) -> None:
    settings.CHAT_MENTION_LIST_RATE = "1/hour"
    assert bob_api.get("/api/chat/mentions/").status_code == 200
    assert_error(bob_api.get("/api/chat/mentions/"), 429, code="rate_limited")


def test_mention_list_refuses_a_made_up_cursor_and_limit(bob_api: APIClient) -> None:
    assert_error(
        bob_api.get("/api/chat/mentions/?cursor=abc"),
        400,
        code="validation_error",
        field="cursor",
    )
    assert_error(
        bob_api.get("/api/chat/mentions/?limit=0"), 400, code="validation_error", field="limit"
    )


def test_a_deactivated_member_is_never_recorded(
    alice: Any, channel: Any, post: Any, moderator: Any
) -> None:
    from accounts import services as accounts_services
    from notifications.models import Mention

    carol = UserFactory.create(username="carol")
    MembershipFactory.create(channel=channel, user=carol)
    accounts_services.user_deactivate(actor=moderator, user=carol)
    ChannelFactory.create(name="other")
    post(alice, channel, "@carol @channel")
    assert not Mention.objects.filter(user=carol).exists()
