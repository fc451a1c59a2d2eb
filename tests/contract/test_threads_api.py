"""Replies with parent_id, thread pages, top-level channel pages (docs/api.md, "Threads"),
and the preview of rendered content."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chat import services
from tests.contract.conftest import assert_error

pytestmark = pytest.mark.django_db
MESSAGES = "/api/chat/messages"
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"


def _reply(client: APIClient, parent: Any, content: str = "a reply", **extra: Any) -> Any:
    body = {"channel_id": str(parent.channel_id), "content": content, "parent_id": str(parent.pk)}
    return client.post(MESSAGES, {**body, **extra}, format="json")


def test_reply_is_201_and_counts_on_its_parent(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "start a thread")
    response = _reply(bob_api, parent)
    assert response.status_code == 201, response.content
    reply = response.json()
    assert reply["parent_id"] == str(parent.pk)
    assert reply["seq"] == parent.seq + 1
    assert reply["reply_count"] == 0
    shown = alice_api.get(f"{MESSAGES}/{parent.pk}").json()
    assert shown["reply_count"] == 1
    assert shown["last_reply_at"] == reply["created_at"]
    assert shown["change_seq"] == parent.change_seq  # the parent itself takes no seq


def test_thread_lists_replies_oldest_first_and_pages(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "thread")
    ids = [_reply(bob_api, parent, f"r{n}").json()["id"] for n in range(5)]
    page = alice_api.get(MESSAGES, {"thread": str(parent.pk), "limit": "3"}).json()
    assert [m["id"] for m in page["results"]] == ids[:3]
    assert page["has_more"] is True
    rest = alice_api.get(MESSAGES, {"thread": str(parent.pk), "after": ids[2]}).json()
    assert [m["id"] for m in rest["results"]] == ids[3:]
    assert rest["has_more"] is False


def test_channel_pages_list_top_level_messages_only(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "top")
    _reply(bob_api, parent)
    after = post(alice, channel, "top two")
    page = alice_api.get(MESSAGES, {"channel_id": str(channel.pk)}).json()
    assert [m["id"] for m in page["results"]] == [str(parent.pk), str(after.pk)]
    assert page["results"][0]["reply_count"] == 1
    # since_seq is for catching up: it holds every change, replies included.
    changes = alice_api.get(MESSAGES, {"channel_id": str(channel.pk), "since_seq": "0"}).json()
    assert len(changes["results"]) == 3


def test_replying_to_a_reply_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel)
    reply = services.message_create(
        user=alice, channel_id=channel.pk, content="r", parent_id=parent.pk
    )[0]
    assert_error(_reply(bob_api, reply), 400, code="bad_parent", field="parent_id")


def test_replying_across_channels_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any, user_factory: Any
) -> None:
    parent = post(alice, channel)
    other = services.channel_create(user=alice, name="other")
    response = bob_api.post(
        MESSAGES,
        {"channel_id": str(other.pk), "content": "x", "parent_id": str(parent.pk)},
        format="json",
    )
    assert_error(response, 400, code="bad_parent", field="parent_id")


def test_parent_the_user_cannot_see_is_404(
    bob_api: APIClient, alice: Any, channel: Any, private_channel: Any, post: Any
) -> None:
    hidden = post(alice, private_channel)
    response = bob_api.post(
        MESSAGES,
        {"channel_id": str(channel.pk), "content": "x", "parent_id": str(hidden.pk)},
        format="json",
    )
    assert_error(response, 404, field="parent_id")
    response = bob_api.post(
        MESSAGES,
        {"channel_id": str(channel.pk), "content": "x", "parent_id": UNKNOWN},
        format="json",
    )
    assert_error(response, 404, field="parent_id")


def test_replying_to_a_deleted_message_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel)
    services.message_delete(user=alice, message_id=parent.pk)
    assert_error(_reply(bob_api, parent), 400, field="parent_id")


@pytest.mark.parametrize("parent_id", [1, "nope", ["x"]])
def test_bad_parent_id_is_400(
    bob_api: APIClient, alice: Any, channel: Any, post: Any, parent_id: Any
) -> None:
    response = bob_api.post(
        MESSAGES,
        {"channel_id": str(channel.pk), "content": "x", "parent_id": parent_id},
        format="json",
    )
    assert_error(response, 400, field="parent_id")


def test_deleting_a_reply_lowers_the_count(
    alice_api: APIClient, bob_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel)
    first = _reply(bob_api, parent, "one").json()
    _reply(bob_api, parent, "two")
    assert bob_api.delete(f"{MESSAGES}/{first['id']}").status_code == 204
    shown = alice_api.get(f"{MESSAGES}/{parent.pk}").json()
    assert shown["reply_count"] == 1
    page = alice_api.get(MESSAGES, {"thread": str(parent.pk)}).json()
    assert [m["content"] for m in page["results"]] == ["two"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "channel_id"),
        ({"thread": "nope"}, "thread"),
        ({"thread": UNKNOWN, "channel_id": UNKNOWN}, "channel_id"),
        ({"thread": UNKNOWN, "since_seq": "1"}, "since_seq"),
    ],
)
def test_bad_thread_query_is_400(alice_api: APIClient, query: dict[str, str], field: str):
    assert_error(alice_api.get(MESSAGES, query), 400, field=field)


def test_thread_of_an_unseen_or_unknown_message_is_404(
    bob_api: APIClient, alice: Any, private_channel: Any, post: Any
) -> None:
    hidden = post(alice, private_channel)
    assert_error(bob_api.get(MESSAGES, {"thread": str(hidden.pk)}), 404, field="thread")
    assert_error(bob_api.get(MESSAGES, {"thread": UNKNOWN}), 404)


def test_thread_of_a_reply_is_400(alice_api: APIClient, alice: Any, channel: Any, post: Any):
    parent = post(alice, channel)
    reply = _reply(alice_api, parent).json()
    assert_error(alice_api.get(MESSAGES, {"thread": reply["id"]}), 400, field="thread")


# --- rendered content and the preview


def test_posted_content_is_rendered_and_sanitized(
    alice_api: APIClient, bob: Any, channel: Any
) -> None:
    response = alice_api.post(
        MESSAGES,
        {
            "channel_id": str(channel.pk),
            "content": f"**hi** @{bob.username} <script>alert(1)</script> :tada:",
        },
        format="json",
    )
    body = response.json()
    assert body["content"].startswith("**hi**")
    assert body["rendered"].startswith("<p><strong>hi</strong> ")
    assert (
        f'<span class="mention" data-user-id="{bob.pk}">@{bob.username}</span>' in body["rendered"]
    )
    assert "<script" not in body["rendered"] and "🎉" in body["rendered"]


def test_edit_renders_again_and_a_tombstone_renders_empty(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "plain")
    edited = alice_api.patch(f"{MESSAGES}/{message.pk}", {"content": "_now_"}, format="json")
    assert edited.json()["rendered"] == "<p><em>now</em></p>"
    services.message_delete(user=alice, message_id=message.pk)
    page = alice_api.get(MESSAGES, {"channel_id": str(channel.pk), "since_seq": "0"}).json()
    assert page["results"][0]["rendered"] == ""


def test_channel_mention_needs_a_small_channel_or_a_moderator(
    alice_api: APIClient, moderator_api: APIClient, channel: Any, user_factory: Any
) -> None:
    from tests.factories import MembershipFactory

    body = {"channel_id": str(channel.pk), "content": "@channel look"}
    assert (
        'data-mention="channel"' in alice_api.post(MESSAGES, body, format="json").json()["rendered"]
    )
    for _ in range(51):
        MembershipFactory.create(channel=channel, user=user_factory.create())
    assert "mention" not in alice_api.post(MESSAGES, body, format="json").json()["rendered"]
    assert (
        'data-mention="channel"'
        in moderator_api.post(MESSAGES, body, format="json").json()["rendered"]
    )


def test_preview_renders_without_posting(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.post(
        "/api/chat/preview/", {"content": "`x` [a](javascript:alert(1))"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"rendered": "<p><code>x</code> [a](javascript:alert(1))</p>"}
    channel.refresh_from_db()
    assert channel.last_seq == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "content"),
        ({"content": " "}, 400, "content"),
        ({"content": "x" * 4001}, 400, "content"),
        ({"content": "x", "channel_id": "nope"}, 400, "channel_id"),
        ({"content": "x", "channel_id": UNKNOWN}, 404, None),
    ],
)
def test_bad_preview_is_an_error_naming_the_field(
    alice_api: APIClient, body: dict[str, Any], status: int, field: str | None
) -> None:
    assert_error(alice_api.post("/api/chat/preview/", body, format="json"), status, field=field)


def test_preview_past_chat_preview_rate_is_429(settings: Any, alice_api: APIClient) -> None:
    settings.CHAT_PREVIEW_RATE = "1/hour"
    assert alice_api.post("/api/chat/preview/", {"content": "a"}, format="json").status_code == 200
    assert_error(
        alice_api.post("/api/chat/preview/", {"content": "a"}, format="json"), 429, "rate_limited"
    )


def test_preview_needs_authentication(anon: APIClient) -> None:
    assert anon.post("/api/chat/preview/", {"content": "a"}, format="json").status_code == 401
