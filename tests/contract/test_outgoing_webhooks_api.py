"""Outgoing webhooks over REST (docs/integrations.md, "Outgoing webhooks"): who makes, lists,
rotates and revokes them, bad input and refused destinations named by field, the rate limit."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from rest_framework.test import APIClient

from chat import services as chat_services
from chat.models import Membership
from chatsite import rls
from integrations import destinations
from integrations.models import OutgoingWebhook
from tests.contract.conftest import assert_error
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
HOOKS = "/api/webhooks/outgoing/"
RECEIVER = "http://127.0.0.1:9/hook"  # never connected to: configuring only resolves


@pytest.fixture(autouse=True)
def _outgoing_settings(settings: Any) -> None:
    settings.CHAT_BOT_MANAGE_RATE = "100000/min"
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"


def _create(client: APIClient, channel: Any, **fields: Any) -> Any:
    body = {"channel_id": str(channel.pk), "name": "Deploys", "url": RECEIVER, **fields}
    return client.post(HOOKS, body, format="json")


def test_owner_makes_a_hook_with_its_secret_shown_once(alice_api: APIClient, channel: Any) -> None:
    response = _create(alice_api, channel, trigger_words=["!deploy", "!status", "!deploy"])
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["secret"].startswith("cso_") and len(made["secret"]) > 40
    assert made["trigger_words"] == ["!deploy", "!status"]
    assert made["url"] == RECEIVER
    assert made["bot"]["is_bot"] is True and made["bot"]["display_name"] == "Deploys"
    assert made["revoked_at"] is None
    # Its bot belongs to the channel, so answers reach a private channel too.
    with rls.acting_as_service():
        assert Membership.objects.filter(channel=channel, user_id=made["bot"]["id"]).exists()
    listed = alice_api.get(HOOKS, {"channel_id": str(channel.pk)}).json()
    assert [hook["id"] for hook in listed] == [made["id"]]
    assert "secret" not in listed[0]


def test_rotating_gives_a_new_secret(alice_api: APIClient, channel: Any) -> None:
    made = _create(alice_api, channel).json()
    rotated = alice_api.post(f"{HOOKS}{made['id']}/rotate/")
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["secret"] != made["secret"]
    with rls.acting_as_service():
        assert OutgoingWebhook.objects.get(pk=made["id"]).secret == rotated.json()["secret"]


def test_revoking_keeps_the_row_and_stops_rotation(alice_api: APIClient, channel: Any) -> None:
    made = _create(alice_api, channel).json()
    assert alice_api.delete(f"{HOOKS}{made['id']}/").status_code == 204
    assert alice_api.delete(f"{HOOKS}{made['id']}/").status_code == 204  # already revoked
    listed = alice_api.get(HOOKS, {"channel_id": str(channel.pk)}).json()
    assert listed[0]["revoked_at"] is not None
    assert_error(alice_api.post(f"{HOOKS}{made['id']}/rotate/"), 404)


def test_moderators_make_hooks_in_any_channel(moderator_api: APIClient, channel: Any) -> None:
    assert _create(moderator_api, channel).status_code == 201


def test_members_and_strangers_cannot_make_see_or_revoke(
    alice_api: APIClient, bob_api: APIClient, bob: Any, channel: Any, anon: APIClient
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    assert_error(_create(bob_api, channel), 403)
    assert_error(bob_api.get(HOOKS, {"channel_id": str(channel.pk)}), 403)
    made = _create(alice_api, channel).json()
    # Members do not see the channel's hooks at all (row-level security): the id names none.
    assert_error(bob_api.delete(f"{HOOKS}{made['id']}/"), 404)
    assert_error(bob_api.post(f"{HOOKS}{made['id']}/rotate/"), 404)
    assert_error(anon.get(HOOKS, {"channel_id": str(channel.pk)}), 401)
    assert_error(anon.post(HOOKS, {}, format="json"), 401)


def test_a_private_channel_one_cannot_see_is_404(bob_api: APIClient, private_channel: Any) -> None:
    assert_error(_create(bob_api, private_channel), 404)


def test_unknown_hooks_are_404(alice_api: APIClient) -> None:
    assert_error(alice_api.delete(f"{HOOKS}not-a-uuid/"), 404)
    assert_error(alice_api.delete(f"{HOOKS}00000000-0000-0000-0000-000000000000/"), 404)


def test_direct_messages_cannot_have_hooks(alice_api: APIClient, alice: Any, bob: Any) -> None:
    dm = chat_services.dm_open(user=alice, user_ids=[bob.pk])[0]
    response = alice_api.post(
        HOOKS, {"channel_id": str(dm.pk), "name": "x", "url": RECEIVER}, format="json"
    )
    assert_error(response, 403, "direct_message")


def test_an_archived_channel_cannot_get_hooks(
    alice_api: APIClient, moderator: Any, channel: Any
) -> None:
    chat_services.channel_archive(moderator=moderator, channel_id=channel.pk)
    assert_error(_create(alice_api, channel), 403, "archived")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": 7}, "name"),
        ({"url": None}, "url"),
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/"}, "url"),
        ({"url": "http://127.0.0.1:99999/"}, "url"),
        ({"url": "http://127.0.0.1/a b"}, "url"),
        ({"url": "http://127.0.0.1/" + "a" * 2000}, "url"),
        ({"trigger_words": "deploy"}, "trigger_words"),
        ({"trigger_words": ["two words"]}, "trigger_words"),
        ({"trigger_words": [""]}, "trigger_words"),
        ({"trigger_words": [3]}, "trigger_words"),
        ({"trigger_words": ["w"] * 21}, "trigger_words"),
        ({"channel_id": None}, "channel_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    alice_api: APIClient, channel: Any, fields: dict[str, Any], field: str
) -> None:
    assert_error(_create(alice_api, channel, **fields), 400, field=field)
    with rls.acting_as_service():
        assert not OutgoingWebhook.objects.exists()


def test_a_body_that_is_not_an_object_is_400(alice_api: APIClient) -> None:
    assert_error(alice_api.post(HOOKS, [1, 2], format="json"), 400, field="body")
    assert_error(alice_api.get(HOOKS), 400, field="channel_id")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "https://192.168.1.10/hook",
        "http://172.16.0.5/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://240.0.0.1/",
        "http://127.0.0.2/",  # loopback, but outside the allowed 127.0.0.1/32
    ],
)
def test_private_and_reserved_destinations_are_refused(
    alice_api: APIClient, channel: Any, url: str
) -> None:
    error = assert_error(_create(alice_api, channel, url=url), 400, "url_refused", field="url")
    assert url not in error["detail"]


def test_a_name_that_resolves_to_a_private_address_is_refused(
    alice_api: APIClient, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver's answer is the test's: no name lookup leaves the machine.
    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "intranet.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(destinations.socket, "getaddrinfo", resolve)
    response = _create(alice_api, channel, url="https://intranet.example.com/hook")
    assert_error(response, 400, "url_refused", field="url")


def test_a_name_that_does_not_resolve_is_refused(
    alice_api: APIClient, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror("no such name")

    monkeypatch.setattr(destinations.socket, "getaddrinfo", resolve)
    response = _create(alice_api, channel, url="https://nowhere.invalid/hook")
    assert_error(response, 400, "url_refused", field="url")


def test_loopback_is_refused_when_no_network_is_allowed(
    settings: Any, alice_api: APIClient, channel: Any
) -> None:
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = ""
    assert_error(_create(alice_api, channel), 400, "url_refused", field="url")
    response = _create(alice_api, channel, url="http://localhost:8080/hook")
    assert_error(response, 400, "url_refused", field="url")


def test_managing_hooks_is_rate_limited(settings: Any, alice_api: APIClient, channel: Any) -> None:
    settings.CHAT_BOT_MANAGE_RATE = "2/hour"
    assert _create(alice_api, channel).status_code == 201
    assert _create(alice_api, channel).status_code == 201
    response = _create(alice_api, channel)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
