"""/api/chat/messages: send, history with cursors, read one, edit, delete, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chat import services
from chat.models import Channel, Membership, Message
from tests.contract.conftest import assert_error

pytestmark = pytest.mark.django_db

MESSAGES = "/api/chat/messages"
UNKNOWN = "5f0c7d3e-0000-4000-8000-00000000beef"
MESSAGE_KEYS = {
    "id",
    "channel_id",
    "user_id",
    "content",
    "created_at",
    "edited_at",
    "deleted",
    "seq",
    "change_seq",
    "client_id",
    "author",
    "rendered",
    "parent_id",
    "reply_count",
    "last_reply_at",
    "reactions",
    "action",
    "attachments",
    "icon_emoji",
}


def _send(client: APIClient, channel: Any, content: Any = "hello", **extra: Any) -> Any:
    return client.post(
        MESSAGES, {"channel_id": str(channel.pk), "content": content, **extra}, format="json"
    )


def _history(client: APIClient, channel: Any, **params: Any) -> Any:
    return client.get(MESSAGES, {"channel_id": str(channel.pk), **params})


# --- POST ------------------------------------------------------------------------------------


def test_post_message_is_201_with_the_message_shape(
    bob_api: APIClient, bob: Any, channel: Any
) -> None:
    client_id = str(uuid.uuid4())
    response = _send(bob_api, channel, "hi all", client_id=client_id)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == MESSAGE_KEYS
    assert body["content"] == "hi all"
    assert body["channel_id"] == str(channel.pk)
    assert body["user_id"] == str(bob.pk)
    assert body["client_id"] == client_id
    assert body["seq"] == body["change_seq"] == 1
    assert body["deleted"] is False
    assert body["edited_at"] is None
    assert body["created_at"].endswith("Z")
    assert body["author"] == {
        "id": str(bob.pk),
        "username": "bob",
        "display_name": "Bob",
        "is_bot": False,
    }
    assert body["icon_emoji"] is None
    # Posting to a public channel joins it.
    assert Membership.objects.filter(channel=channel, user=bob).exists()


def test_repeated_client_id_returns_the_original_with_200(
    alice_api: APIClient, channel: Any
) -> None:
    client_id = str(uuid.uuid4())
    first = _send(alice_api, channel, "once", client_id=client_id)
    second = _send(alice_api, channel, "once", client_id=client_id)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Message.objects.filter(channel=channel).count() == 1


def test_the_same_client_id_from_another_user_is_a_new_message(
    alice_api: APIClient, bob_api: APIClient, channel: Any
) -> None:
    client_id = str(uuid.uuid4())
    assert _send(alice_api, channel, client_id=client_id).status_code == 201
    assert _send(bob_api, channel, client_id=client_id).status_code == 201


@pytest.mark.parametrize(
    "content",
    ["x" * 4000, "\U0001f600" * 4000, "tab\tand\nnewline", "  padded  ", "\u00e9\u4e2d\u05d0"],
)
def test_post_message_accepts_valid_content(
    alice_api: APIClient, channel: Any, content: str
) -> None:
    response = _send(alice_api, channel, content)
    assert response.status_code == 201, response.content
    assert response.json()["content"] == content
    assert Message.objects.get(pk=response.json()["id"]).content == content


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "whitespace only"),
        ("x" * 4001, "4001 code points"),
        ("\U0001f600" * 4001, "4001 non-BMP code points"),
        ("nul\x00here", "NUL"),
        ("bell\x07", "C0 control"),
        ("carriage\rreturn", "C0 control CR"),
        ("escape\x1b[0m", "C0 control ESC"),
        (42, "a number"),
        (None, "null"),
        (["hi"], "a list"),
        ({"text": "hi"}, "an object"),
        (True, "a boolean"),
    ],
)
def test_post_message_with_bad_content_is_400_naming_content(
    alice_api: APIClient, channel: Any, content: Any, reason: str
) -> None:
    response = _send(alice_api, channel, content)
    assert_error(response, 400, "validation_error", "content")
    assert not Message.objects.exists(), reason


def test_post_message_without_content_is_400(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.post(MESSAGES, {"channel_id": str(channel.pk)}, format="json")
    assert_error(response, 400, "validation_error", "content")


@pytest.mark.parametrize("channel_id", [None, "", "general", "1234", 12345, 3.5, ["x"], "\x00"])
def test_post_message_with_bad_channel_id_is_400(alice_api: APIClient, channel_id: Any) -> None:
    payload = (
        {"content": "hi"} if channel_id is None else {"content": "hi", "channel_id": channel_id}
    )
    response = alice_api.post(MESSAGES, payload, format="json")
    assert_error(response, 400, "validation_error", "channel_id")


@pytest.mark.parametrize("client_id", ["retry-1", 123, ""])
def test_post_message_with_bad_client_id_is_400(
    alice_api: APIClient, channel: Any, client_id: Any
) -> None:
    response = _send(alice_api, channel, client_id=client_id)
    assert_error(response, 400, "validation_error", "client_id")


def test_a_body_over_the_upload_limit_is_400_in_the_error_shape(
    alice_api: APIClient, channel: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = _send(alice_api, channel, "x" * 20_000)
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"content": "hi",}', "application/json"),
        (b"", "application/json"),
        (
            b'{"content": "\\ud800", "channel_id": "00000000-0000-0000-0000-000000000000"}',
            "application/json",
        ),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_post_message_with_a_non_json_body_is_400(
    alice_api: APIClient, channel: Any, body: bytes, content_type: str
) -> None:
    response = alice_api.post(MESSAGES, body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"parse_error", "validation_error"}


def test_post_message_as_a_json_array_is_400(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.post(MESSAGES, [1, 2], format="json")
    assert_error(response, 400, "validation_error")


def test_post_message_as_plain_text_is_415(alice_api: APIClient) -> None:
    response = alice_api.post(MESSAGES, b"hello", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_post_message_without_credentials_is_401(anon: APIClient, channel: Any) -> None:
    response = _send(anon, channel)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_post_message_to_an_archived_channel_is_403(alice_api: APIClient, channel: Any) -> None:
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())
    assert_error(_send(alice_api, channel), 403, "archived")


def test_post_message_to_an_unknown_channel_is_404(alice_api: APIClient) -> None:
    response = alice_api.post(
        MESSAGES, {"channel_id": str(uuid.uuid4()), "content": "hi"}, format="json"
    )
    assert_error(response, 404, "not_found")


def test_moderator_not_in_a_private_channel_cannot_post_there(
    moderator_api: APIClient, private_channel: Any
) -> None:
    assert_error(_send(moderator_api, private_channel), 403, "permission_denied")


# --- History ---------------------------------------------------------------------------------


@pytest.fixture
def long_channel(alice: Any, channel: Any) -> Any:
    """general with 120 messages from alice: "m1" .. "m120" (seq 1 .. 120)."""
    for n in range(1, 121):
        services.message_create(user=alice, channel_id=channel.pk, content=f"m{n}")
    return channel


def test_history_without_cursor_is_the_newest_page_oldest_first(
    alice_api: APIClient, long_channel: Any
) -> None:
    response = _history(alice_api, long_channel)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "has_more"}
    assert [m["content"] for m in body["results"]] == [f"m{n}" for n in range(71, 121)]
    assert body["has_more"] is True
    assert set(body["results"][0]) == MESSAGE_KEYS


def test_walking_back_with_before_visits_every_message_once(
    alice_api: APIClient, long_channel: Any
) -> None:
    seen: list[int] = []
    page = _history(alice_api, long_channel, limit=25).json()
    pages = 1
    seen = [m["seq"] for m in page["results"]] + seen
    while page["has_more"]:
        page = _history(alice_api, long_channel, limit=25, before=page["results"][0]["id"]).json()
        pages += 1
        seen = [m["seq"] for m in page["results"]] + seen
    assert seen == list(range(1, 121))
    assert pages == 5


def test_walking_forward_with_after_visits_every_message_once(
    alice_api: APIClient, long_channel: Any
) -> None:
    first = Message.objects.get(channel=long_channel, seq=1)
    seen = [1]
    cursor = str(first.pk)
    while True:
        page = _history(alice_api, long_channel, limit=33, after=cursor).json()
        seen += [m["seq"] for m in page["results"]]
        if not page["has_more"]:
            break
        cursor = page["results"][-1]["id"]
    assert seen == list(range(1, 121))


def test_history_leaves_out_tombstones_but_since_seq_returns_every_change_in_order(
    alice_api: APIClient, alice: Any, channel: Any
) -> None:
    ids = [_send(alice_api, channel, f"m{n}").json()["id"] for n in range(1, 5)]
    assert (
        alice_api.patch(f"{MESSAGES}/{ids[1]}", {"content": "m2!"}, format="json").status_code
        == 200
    )
    assert alice_api.delete(f"{MESSAGES}/{ids[2]}").status_code == 204
    assert (
        alice_api.patch(f"{MESSAGES}/{ids[0]}", {"content": "m1!"}, format="json").status_code
        == 200
    )

    latest = _history(alice_api, channel).json()["results"]
    assert [m["content"] for m in latest] == ["m1!", "m2!", "m4"]

    changes = _history(alice_api, channel, since_seq=4).json()
    assert [(m["id"], m["change_seq"]) for m in changes["results"]] == [
        (ids[1], 5),
        (ids[2], 6),
        (ids[0], 7),
    ]
    tombstone = changes["results"][1]
    assert tombstone["deleted"] is True and tombstone["content"] == ""
    assert changes["results"][0]["edited_at"] is not None
    assert changes["has_more"] is False

    paged = _history(alice_api, channel, since_seq=0, limit=3).json()
    assert [m["change_seq"] for m in paged["results"]] == [4, 5, 6]
    assert paged["has_more"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": -5}, "limit"),
        ({"before": "nope"}, "before"),
        ({"after": "123"}, "after"),
        ({"since_seq": "x"}, "since_seq"),
        ({"since_seq": -1}, "since_seq"),
        ({"since_seq": 2**70}, "since_seq"),
        ({"before": UNKNOWN}, "before"),
        ({"since_seq": 1, "after": UNKNOWN}, "since_seq"),
    ],
)
def test_history_with_bad_parameters_is_400_naming_it(
    alice_api: APIClient, channel: Any, params: dict[str, Any], field: str
) -> None:
    assert_error(_history(alice_api, channel, **params), 400, "validation_error", field)


def test_history_accepts_limits_1_and_200(alice_api: APIClient, channel: Any) -> None:
    for limit in (1, 200):
        assert _history(alice_api, channel, limit=limit).status_code == 200


@pytest.mark.parametrize("channel_id", [None, "nope", ""])
def test_history_without_a_valid_channel_id_is_400(
    alice_api: APIClient, channel_id: str | None
) -> None:
    params = {} if channel_id is None else {"channel_id": channel_id}
    assert_error(alice_api.get(MESSAGES, params), 400, "validation_error", "channel_id")


def test_history_of_an_unknown_channel_is_404_and_needs_auth(
    alice_api: APIClient, anon: APIClient, channel: Any
) -> None:
    assert_error(alice_api.get(MESSAGES, {"channel_id": str(uuid.uuid4())}), 404, "not_found")
    assert_error(_history(anon, channel), 401)


def test_a_cursor_from_another_channel_is_400(
    alice_api: APIClient, alice: Any, channel: Any, private_channel: Any, post: Any
) -> None:
    elsewhere = post(alice, private_channel, "elsewhere")
    assert_error(_history(alice_api, channel, before=str(elsewhere.pk)), 400, field="before")


# --- One message: GET, PATCH, DELETE ------------------------------------------------------


def test_get_one_message(bob_api: APIClient, alice: Any, channel: Any, post: Any) -> None:
    message = post(alice, channel, "read me")
    response = bob_api.get(f"{MESSAGES}/{message.pk}")
    assert response.status_code == 200
    assert response.json()["content"] == "read me"
    assert bob_api.get(f"{MESSAGES}/{message.pk}/").json() == response.json()


@pytest.mark.parametrize("message_id", [UNKNOWN, "not-a-uuid"])
def test_get_unknown_message_is_404(alice_api: APIClient, message_id: str) -> None:
    assert_error(alice_api.get(f"{MESSAGES}/{message_id}"), 404, "not_found")


def test_get_a_deleted_message_is_404(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    services.message_delete(user=alice, message_id=message.pk)
    assert_error(alice_api.get(f"{MESSAGES}/{message.pk}"), 404)


def test_message_endpoints_need_auth(anon: APIClient, alice: Any, channel: Any, post: Any) -> None:
    message = post(alice, channel)
    url = f"{MESSAGES}/{message.pk}"
    assert_error(anon.get(url), 401)
    assert_error(anon.patch(url, {"content": "x"}, format="json"), 401)
    assert_error(anon.delete(url), 401)


def test_patch_own_message_sets_edited_at_and_a_new_change_seq(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "frist")
    response = alice_api.patch(f"{MESSAGES}/{message.pk}", {"content": "first"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["content"] == "first"
    assert body["edited_at"] is not None
    assert body["seq"] == 1 and body["change_seq"] == 2


def test_patch_someone_elses_message_is_403(
    bob_api: APIClient, moderator_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "mine")
    assert_error(bob_api.patch(f"{MESSAGES}/{message.pk}", {"content": "x"}, format="json"), 403)
    assert_error(
        moderator_api.patch(f"{MESSAGES}/{message.pk}", {"content": "x"}, format="json"), 403
    )
    assert Message.objects.get(pk=message.pk).content == "mine"


@pytest.mark.parametrize("payload", [{}, {"content": ""}, {"content": "a\x00"}, {"content": 7}])
def test_patch_with_bad_content_is_400(
    alice_api: APIClient, alice: Any, channel: Any, post: Any, payload: dict[str, Any]
) -> None:
    message = post(alice, channel)
    response = alice_api.patch(f"{MESSAGES}/{message.pk}", payload, format="json")
    assert_error(response, 400, "validation_error", "content")


def test_patch_in_an_archived_channel_is_403(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "before the archive")
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())
    response = alice_api.patch(f"{MESSAGES}/{message.pk}", {"content": "x"}, format="json")
    assert_error(response, 403, "archived")


def test_patch_unknown_message_is_404(alice_api: APIClient) -> None:
    url = f"{MESSAGES}/{uuid.uuid4()}"
    assert_error(alice_api.patch(url, {"content": "x"}, format="json"), 404)


def test_delete_own_message_is_204_and_leaves_a_tombstone(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    response = alice_api.delete(f"{MESSAGES}/{message.pk}")
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.deleted_at is not None and message.content == ""
    assert_error(alice_api.delete(f"{MESSAGES}/{message.pk}"), 404)


def test_delete_someone_elses_message_is_403_but_a_moderator_may(
    bob_api: APIClient, moderator_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel)
    assert_error(bob_api.delete(f"{MESSAGES}/{message.pk}"), 403, "permission_denied")
    assert moderator_api.delete(f"{MESSAGES}/{message.pk}").status_code == 204
    assert Message.objects.get(pk=message.pk).deleted_at is not None


def test_delete_unknown_message_is_404(alice_api: APIClient) -> None:
    assert_error(alice_api.delete(f"{MESSAGES}/{uuid.uuid4()}"), 404)
    assert_error(alice_api.delete(f"{MESSAGES}/garbage"), 404)
