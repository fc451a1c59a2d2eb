"""Bots, their API tokens and incoming webhooks over REST (docs/integrations.md)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat import services as chat_services
from chat.models import Message
from integrations import services
from integrations.models import BotToken, IncomingWebhook
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, MembershipFactory
from tests.integration.test_ops_logging import LogCapture

pytestmark = pytest.mark.django_db
MESSAGES = "/api/chat/messages/"


@pytest.fixture(autouse=True)
def _generous_integration_limits(settings: Any) -> None:
    settings.CHAT_HOOK_RATE = "100000/min"
    settings.CHAT_BOT_MANAGE_RATE = "100000/min"


@pytest.fixture
def bot(moderator: Any) -> Any:
    return services.bot_create(actor=moderator, username="ci-bot", display_name="CI")


def _bot_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _token(moderator: Any, bot: Any, **kwargs: Any) -> str:
    _, token = services.bot_token_create(actor=moderator, bot=bot, **kwargs)
    return token


def _hook(alice: Any, channel: Any, name: str = "Alerts") -> tuple[IncomingWebhook, str]:
    return services.hook_create(actor=alice, channel_id=channel.pk, name=name)


def _post_hook(token: str, payload: Any, **extra: Any) -> Any:
    return Client().post(
        f"/api/hooks/{token}/", json.dumps(payload), content_type="application/json", **extra
    )


# --- Bots ----------------------------------------------------------------------------------


def test_moderator_makes_lists_and_deactivates_a_bot(moderator_api: APIClient) -> None:
    response = moderator_api.post("/api/bots/", {"username": "deploy", "display_name": "Deploy"})
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["is_bot"] is True and made["is_active"] is True
    assert made["display_name"] == "Deploy"
    listed = moderator_api.get("/api/bots/").json()
    assert [bot["username"] for bot in listed] == ["deploy"]
    assert moderator_api.get(f"/api/bots/{made['id']}/").json()["id"] == made["id"]
    assert moderator_api.delete(f"/api/bots/{made['id']}/").status_code == 204
    assert moderator_api.get(f"/api/bots/{made['id']}/").json()["is_active"] is False
    assert_error(moderator_api.delete(f"/api/bots/{made['id']}/"), 400, "already_inactive")


def test_members_cannot_make_or_list_bots(alice_api: APIClient, anon: APIClient) -> None:
    assert_error(alice_api.post("/api/bots/", {"username": "sneaky"}), 403)
    assert_error(alice_api.get("/api/bots/"), 403)
    assert_error(anon.get("/api/bots/"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "username"),
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": 7}, "username"),
        ({"username": "x" * 41}, "username"),
        ({"username": "okname", "display_name": "d" * 81}, "display_name"),
        ({"username": "okname", "display_name": ["list"]}, "display_name"),
    ],
)
def test_bad_bot_input_is_400_naming_the_field(
    moderator_api: APIClient, body: dict[str, Any], field: str
) -> None:
    assert_error(moderator_api.post("/api/bots/", body, format="json"), 400, field=field)


def test_a_bot_named_like_a_user_is_400(moderator_api: APIClient, alice: Any) -> None:
    assert_error(moderator_api.post("/api/bots/", {"username": "ALICE"}), 400, "username_taken")


def test_unknown_bot_is_404(moderator_api: APIClient, alice: Any) -> None:
    assert_error(moderator_api.get("/api/bots/nope/"), 404)
    assert_error(moderator_api.get(f"/api/bots/{alice.pk}/"), 404)  # a person, not a bot


def test_bots_cannot_sign_in_through_the_pages_or_the_token_endpoint(bot: Any) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"login": "ci-bot", "password": ""})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 400)
    token = APIClient().post("/api/auth/token/", {"username": "ci-bot", "password": "x"})
    assert token.status_code == 401
    assert not bot.has_usable_password()


# --- Bot tokens ----------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_hashed(moderator_api: APIClient, bot: Any) -> None:
    response = moderator_api.post(f"/api/bots/{bot.pk}/tokens/", {"name": "ci"})
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    assert token.startswith("csb_") and len(token) > 40
    row = BotToken.objects.get()
    assert row.token_hash == services.token_hash(token) and token not in row.token_hash
    listed = moderator_api.get(f"/api/bots/{bot.pk}/tokens/").json()
    assert [item["id"] for item in listed] == [str(row.pk)]
    assert "token" not in listed[0]


def test_bot_token_posts_as_the_bot_marked_as_a_bot(moderator: Any, bot: Any, channel: Any) -> None:
    client = _bot_client(_token(moderator, bot))
    response = client.post(MESSAGES, {"channel_id": str(channel.pk), "content": "build green"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user_id"] == str(bot.pk)
    assert body["author"]["is_bot"] is True
    assert body["icon_emoji"] is None
    history = client.get(MESSAGES, {"channel_id": str(channel.pk)}).json()
    assert history["results"][-1]["author"]["is_bot"] is True


def test_people_are_not_marked_as_bots(alice_api: APIClient, channel: Any) -> None:
    body = alice_api.post(MESSAGES, {"channel_id": str(channel.pk), "content": "hi"}).json()
    assert body["author"]["is_bot"] is False


@pytest.mark.parametrize(
    "header",
    [
        "Bearer csb_forged-token-that-was-never-issued-0123456789",
        "Bearer csb_",
    ],
)
def test_forged_bot_token_is_401(channel: Any, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(MESSAGES, {"channel_id": str(channel.pk)}), 401)


def test_a_jwt_still_works_beside_bot_tokens(alice_api: APIClient, channel: Any) -> None:
    assert alice_api.get(MESSAGES, {"channel_id": str(channel.pk)}).status_code == 200


def test_revoked_token_is_401_at_once(
    moderator: Any, moderator_api: APIClient, bot: Any, channel: Any
) -> None:
    token = _token(moderator, bot)
    client = _bot_client(token)
    assert client.get(MESSAGES, {"channel_id": str(channel.pk)}).status_code == 200
    row = BotToken.objects.get()
    assert moderator_api.delete(f"/api/bots/{bot.pk}/tokens/{row.pk}/").status_code == 204
    assert_error(client.get(MESSAGES, {"channel_id": str(channel.pk)}), 401)
    assert_error(moderator_api.delete(f"/api/bots/{bot.pk}/tokens/not-a-uuid/"), 404)


def test_deactivated_bot_token_is_401(
    moderator: Any, moderator_api: APIClient, bot: Any, channel: Any
) -> None:
    client = _bot_client(_token(moderator, bot))
    moderator_api.delete(f"/api/bots/{bot.pk}/")
    assert_error(client.get(MESSAGES, {"channel_id": str(channel.pk)}), 401)
    bot.refresh_from_db()
    assert_error(
        moderator_api.post(f"/api/bots/{bot.pk}/tokens/", {"name": "late"}), 403, "bot_inactive"
    )


def test_scoped_token_gets_403_outside_its_channels(
    moderator: Any, bot: Any, channel: Any, alice: Any, post: Any
) -> None:
    other = ChannelFactory.create(name="random", created_by=alice)
    MembershipFactory.create(channel=other, user=alice, role="owner")
    client = _bot_client(_token(moderator, bot, channel_ids=[str(channel.pk)]))
    inside = client.post(MESSAGES, {"channel_id": str(channel.pk), "content": "in scope"})
    assert inside.status_code == 201, inside.content
    assert_error(client.post(MESSAGES, {"channel_id": str(other.pk), "content": "out"}), 403)
    assert_error(client.get(MESSAGES, {"channel_id": str(other.pk)}), 403)
    assert_error(client.get(f"/api/chat/channels/{other.pk}/"), 403)
    elsewhere = post(alice, other, "theirs")
    assert_error(client.post(f"{MESSAGES}{elsewhere.pk}/reactions/", {"emoji": "👍"}), 403)
    assert_error(client.get("/api/chat/channels/"), 403)  # spans channels
    assert client.get(f"/api/chat/channels/{channel.pk}/").status_code == 200
    assert not Message.objects.filter(channel=other, user=bot).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel_ids": "not-a-list"}, "channel_ids"),
        ({"channel_ids": ["5f0c7d3e-0000-4000-8000-00000000beef"]}, "channel_ids"),
        ({"channel_ids": [12]}, "channel_ids"),
        ({"name": "n" * 81}, "name"),
    ],
)
def test_bad_token_input_is_400_naming_the_field(
    moderator_api: APIClient, bot: Any, body: dict[str, Any], field: str
) -> None:
    response = moderator_api.post(f"/api/bots/{bot.pk}/tokens/", body, format="json")
    assert_error(response, 400, field=field)
    assert not BotToken.objects.exists()


def test_bots_obey_the_message_rate_limit(
    settings: Any, moderator: Any, bot: Any, channel: Any
) -> None:
    settings.CHAT_MESSAGE_RATE = "2/min"
    client = _bot_client(_token(moderator, bot))
    for _ in range(2):
        assert (
            client.post(MESSAGES, {"channel_id": str(channel.pk), "content": "x"}).status_code
            == 201
        )
    assert_error(client.post(MESSAGES, {"channel_id": str(channel.pk), "content": "x"}), 429)


def test_bots_obey_row_level_security(
    moderator: Any, bot: Any, private_channel: Any, alice: Any, post: Any
) -> None:
    post(alice, private_channel, "secret plans")
    client = _bot_client(_token(moderator, bot))
    assert_error(client.get(MESSAGES, {"channel_id": str(private_channel.pk)}), 404)
    body = {"channel_id": str(private_channel.pk), "content": "let me in"}
    assert_error(client.post(MESSAGES, body), 404)


def test_bot_management_is_rate_limited(settings: Any, moderator_api: APIClient) -> None:
    settings.CHAT_BOT_MANAGE_RATE = "1/hour"
    assert moderator_api.post("/api/bots/", {"username": "one"}).status_code == 201
    assert_error(moderator_api.post("/api/bots/", {"username": "two"}), 429, "rate_limited")


# --- Incoming webhooks: managing -----------------------------------------------------------


def test_channel_owner_makes_a_hook_shown_once(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.post("/api/webhooks/", {"channel_id": str(channel.pk), "name": "CI"})
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["url"].endswith(f"/api/hooks/{made['token']}/")
    assert made["bot"]["is_bot"] is True and made["bot"]["display_name"] == "CI"
    hook = IncomingWebhook.objects.get()
    assert hook.token_hash == services.token_hash(made["token"])
    listed = alice_api.get("/api/webhooks/", {"channel_id": str(channel.pk)}).json()
    assert [item["id"] for item in listed] == [made["id"]]
    assert "token" not in listed[0] and "url" not in listed[0]


def test_members_cannot_make_or_see_hooks(bob_api: APIClient, channel: Any) -> None:
    body = {"channel_id": str(channel.pk), "name": "CI"}
    assert_error(bob_api.post("/api/webhooks/", body), 403)
    assert_error(bob_api.get("/api/webhooks/", {"channel_id": str(channel.pk)}), 403)
    assert not IncomingWebhook.objects.exists()


def test_moderators_make_hooks_anywhere(moderator_api: APIClient, channel: Any) -> None:
    body = {"channel_id": str(channel.pk), "name": "Mod hook"}
    assert moderator_api.post("/api/webhooks/", body).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "CI"}, "channel_id"),
        ({"channel_id": "nope", "name": "CI"}, "channel_id"),
        ({"channel_id": "CHANNEL", "name": ""}, "name"),
        ({"channel_id": "CHANNEL", "name": "n" * 81}, "name"),
        ({"channel_id": "CHANNEL", "name": 5}, "name"),
    ],
)
def test_bad_hook_input_is_400_naming_the_field(
    alice_api: APIClient, channel: Any, body: dict[str, Any], field: str
) -> None:
    body = {key: str(channel.pk) if value == "CHANNEL" else value for key, value in body.items()}
    assert_error(alice_api.post("/api/webhooks/", body, format="json"), 400, field=field)
    assert_error(alice_api.get("/api/webhooks/"), 400, field="channel_id")


def test_hooks_for_direct_messages_are_refused(alice_api: APIClient, alice: Any, bob: Any) -> None:
    dm = chat_services.dm_open(user=alice, user_ids=[bob.pk])[0]
    response = alice_api.post("/api/webhooks/", {"channel_id": str(dm.pk), "name": "x"})
    assert_error(response, 403, "direct_message")


def test_revoked_hook_is_404(alice: Any, alice_api: APIClient, channel: Any) -> None:
    hook, token = _hook(alice, channel)
    assert alice_api.delete(f"/api/webhooks/{hook.pk}/").status_code == 204
    assert_error(_post_hook(token, {"text": "late"}), 404, "no_hook")
    assert_error(alice_api.delete("/api/webhooks/nope/"), 404)


# --- Incoming webhooks: posting ------------------------------------------------------------


def test_hook_posts_as_its_bot_with_slack_fields(alice: Any, channel: Any) -> None:
    hook, token = _hook(alice, channel)
    payload = {
        "text": "Deploy *finished* for @alice",
        "username": "Deploy bot",
        "icon_emoji": ":rocket:",
        "attachments": [{"text": "3 services"}, {"fallback": "took 2 min"}, {"color": "good"}],
    }
    response = _post_hook(token, payload)
    assert response.status_code == 200, response.content
    assert response.content == b"ok"
    message = Message.objects.get(channel=channel)
    assert message.user_id == hook.bot_id
    assert message.content == "Deploy *finished* for @alice\n\n3 services\n\ntook 2 min"
    assert "<em>finished</em>" in message.rendered
    assert 'class="mention' in message.rendered
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_alice_jwt(alice)}")
    shown = client.get(MESSAGES, {"channel_id": str(channel.pk)}).json()["results"][-1]
    assert shown["author"]["display_name"] == "Deploy bot"
    assert shown["author"]["is_bot"] is True
    assert shown["icon_emoji"] == "🚀"


def _alice_jwt(alice: Any) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    return str(RefreshToken.for_user(alice).access_token)


def test_hook_posts_to_a_private_channel(alice: Any, private_channel: Any) -> None:
    _, token = _hook(alice, private_channel)
    assert _post_hook(token, {"text": "private alert"}).status_code == 200
    assert Message.objects.filter(channel=private_channel, content="private alert").exists()


def test_hook_accepts_slack_form_payload(alice: Any, channel: Any) -> None:
    _, token = _hook(alice, channel)
    body = urlencode({"payload": json.dumps({"text": "from a form"})})
    response = Client().post(
        f"/api/hooks/{token}/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    assert Message.objects.filter(channel=channel, content="from a form").exists()


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("{not json", "application/json", "body"),
        ("[1, 2]", "application/json", "payload"),
        ('{"text": ""}', "application/json", "text"),
        ('{"text": "   "}', "application/json", "text"),
        ("{}", "application/json", "text"),
        ('{"text": 5}', "application/json", "text"),
        ('{"text": "x" , "username": 3}', "application/json", "username"),
        ('{"text": "x", "icon_emoji": ":no-such-emoji:"}', "application/json", "icon_emoji"),
        ('{"text": "x", "attachments": "nope"}', "application/json", "attachments"),
        ('{"text": "x", "attachments": [3]}', "application/json", "attachments"),
        ('{"text": "' + "x" * 4001 + '"}', "application/json", "text"),
        ("other=1", "application/x-www-form-urlencoded", "payload"),
        ("payload=%7Bbad", "application/x-www-form-urlencoded", "payload"),
        ("text", "text/plain", "body"),
    ],
)
def test_bad_hook_body_is_400_naming_the_field(
    alice: Any, channel: Any, body: str, content_type: str, field: str
) -> None:
    _, token = _hook(alice, channel)
    response = Client().post(f"/api/hooks/{token}/", body, content_type=content_type)
    assert_error(response, 400, field=field)
    assert not Message.objects.filter(channel=channel).exists()


def test_unknown_hook_token_is_404(channel: Any) -> None:
    assert_error(_post_hook("csh_unknown", {"text": "hi"}), 404, "no_hook")
    assert_error(_post_hook("anything", {"text": "hi"}), 404, "no_hook")


def test_hook_for_an_archived_channel_is_403(alice: Any, moderator: Any, channel: Any) -> None:
    _, token = _hook(alice, channel)
    chat_services.channel_archive(moderator=moderator, channel_id=channel.pk)
    assert_error(_post_hook(token, {"text": "too late"}), 403, "archived")
    assert not Message.objects.filter(channel=channel, content="too late").exists()


def test_hook_of_a_deactivated_bot_is_404(alice: Any, moderator: Any, channel: Any) -> None:
    hook, token = _hook(alice, channel)
    services.bot_deactivate(actor=moderator, bot=hook.bot)
    assert_error(_post_hook(token, {"text": "hi"}), 404)


def test_ten_megabyte_hook_body_is_413_unread(alice: Any, channel: Any) -> None:
    _, token = _hook(alice, channel)
    body = json.dumps({"text": "x" * (10 * 1024 * 1024)})
    assert_error(_post_hook_raw(token, body), 413, "too_large")
    assert not Message.objects.filter(channel=channel).exists()


def _post_hook_raw(token: str, body: str) -> Any:
    return Client().post(f"/api/hooks/{token}/", body, content_type="application/json")


def test_hooks_are_rate_limited_per_hook(settings: Any, alice: Any, channel: Any) -> None:
    settings.CHAT_HOOK_RATE = "2/day"  # a window no test run straddles but at midnight
    _, token = _hook(alice, channel, "one")
    _, other = _hook(alice, channel, "two")
    assert _post_hook(token, {"text": "1"}).status_code == 200
    assert _post_hook(token, {"text": "2"}).status_code == 200
    refused = _post_hook(token, {"text": "3"})
    assert_error(refused, 429, "rate_limited")
    assert int(refused["Retry-After"]) >= 1
    assert _post_hook(other, {"text": "other hook"}).status_code == 200


def test_hook_token_never_reaches_the_logs(alice: Any, channel: Any) -> None:
    _, token = _hook(alice, channel)
    capture = LogCapture()
    root = logging.getLogger()
    root.addHandler(capture.handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # request_started too
    try:
        assert _post_hook(token, {"text": "logged?"}).status_code == 200
        assert _post_hook(token, {"text": ""}).status_code == 400
        assert _post_hook(token + "x", {"text": "unknown"}).status_code == 404
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(level)
    finished = capture.events("request_finished")
    assert [line["status"] for line in finished] == [200, 400, 404]
    assert {line["path"] for line in finished} == {"/api/hooks/[redacted]/"}
    assert token not in capture.text
    assert token[4:20] not in capture.text
