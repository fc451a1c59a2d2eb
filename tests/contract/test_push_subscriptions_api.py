"""/api/notifications/push-subscriptions/ and /api/notifications/settings/ (docs/api.md,
"Push subscriptions", "Notification settings")."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chatsite import rls
from notifications import push
from notifications.models import NotificationPreference, PushSubscription
from tests.contract.conftest import assert_error
from tests.push_service import BrowserKeys

pytestmark = pytest.mark.django_db
SUBSCRIPTIONS = "/api/notifications/push-subscriptions/"
SETTINGS = "/api/notifications/settings/"
ENDPOINT = "https://push.example.net/send/abc123"


@pytest.fixture(autouse=True)
def _push_configured(settings: Any) -> None:
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = push.generate_keys()
    settings.CHAT_PUSH_SUBSCRIPTION_RATE = "1000/min"
    settings.CHAT_NOTIFICATION_SETTINGS_RATE = "1000/min"


def _body(endpoint: str = ENDPOINT, keys: BrowserKeys | None = None, **extra: Any) -> dict:
    keys = keys or BrowserKeys()
    return {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}, **extra}


def test_subscribing_is_201_then_200_for_the_same_endpoint_with_new_keys(
    alice_api: APIClient, alice: Any
) -> None:
    first = alice_api.post(SUBSCRIPTIONS, _body(expirationTime=None), format="json")
    assert first.status_code == 201, first.content
    assert set(first.json()) == {"id", "endpoint", "created_at", "last_sent_at"}
    assert first.json()["endpoint"] == ENDPOINT
    newer = BrowserKeys()
    again = alice_api.post(SUBSCRIPTIONS, _body(keys=newer), format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    with rls.acting_as_service():
        row = PushSubscription.objects.get()
    assert row.user_id == alice.pk and row.p256dh == newer.p256dh and row.auth == newer.auth


def test_an_endpoint_moves_to_the_user_who_subscribed_last_on_the_device(
    alice_api: APIClient, bob_api: APIClient, bob: Any
) -> None:
    assert alice_api.post(SUBSCRIPTIONS, _body(), format="json").status_code == 201
    assert bob_api.post(SUBSCRIPTIONS, _body(), format="json").status_code == 201
    with rls.acting_as_service():
        assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [bob.pk]
    assert alice_api.get(SUBSCRIPTIONS).json() == []


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://push.example.net/send/1", "https"),
        ("https://127.0.0.1/send/1", "public"),
        ("https://10.1.2.3/send/1", "public"),
        ("https://[::1]/send/1", "public"),
        ("https://localhost/send/1", "public"),
        ("https://push.example.net:8443/send/1", "port"),
        ("https://user:pw@push.example.net/send/1", "credentials"),
    ],
)
def test_an_endpoint_the_worker_must_not_call_is_400_on_endpoint(
    alice_api: APIClient, endpoint: str, why: str
) -> None:
    error = assert_error(
        alice_api.post(SUBSCRIPTIONS, _body(endpoint), format="json"), 400, field="endpoint"
    )
    assert why in error["fields"]["endpoint"][0]


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"p256dh": "not-a-key", "auth": BrowserKeys().auth}, "keys.p256dh"),
        ({"p256dh": BrowserKeys().p256dh[:-4], "auth": BrowserKeys().auth}, "keys.p256dh"),
        ({"p256dh": BrowserKeys().p256dh, "auth": "c2hvcnQ"}, "keys.auth"),
        ({"p256dh": BrowserKeys().p256dh}, "keys.auth"),
    ],
)
def test_keys_that_cannot_encrypt_are_400_on_the_key(
    alice_api: APIClient, keys: dict[str, str], field: str
) -> None:
    body = {"endpoint": ENDPOINT, "keys": keys}
    assert_error(alice_api.post(SUBSCRIPTIONS, body, format="json"), 400, field=field)


@pytest.mark.parametrize(
    "body",
    [{}, {"endpoint": "not a url", "keys": {}}, {"endpoint": ENDPOINT, "keys": "x"}, []],
)
def test_malformed_bodies_are_400(alice_api: APIClient, body: Any) -> None:
    assert_error(alice_api.post(SUBSCRIPTIONS, body, format="json"), 400)
    with rls.acting_as_service():
        assert not PushSubscription.objects.exists()


def test_without_vapid_keys_subscribing_is_400_push_unavailable(
    alice_api: APIClient, settings: Any
) -> None:
    settings.VAPID_PRIVATE_KEY = ""
    response = alice_api.post(SUBSCRIPTIONS, _body(), format="json")
    assert_error(response, 400, code="push_unavailable")
    assert alice_api.get(SETTINGS).json()["push_public_key"] == settings.VAPID_PUBLIC_KEY


def test_anonymous_is_401(anon: APIClient) -> None:
    assert anon.post(SUBSCRIPTIONS, _body(), format="json").status_code == 401
    assert anon.get(SETTINGS).status_code == 401


def test_unsubscribing_is_204_for_your_own_and_404_for_anyone_elses(
    alice_api: APIClient, bob_api: APIClient
) -> None:
    made = alice_api.post(SUBSCRIPTIONS, _body(), format="json").json()
    assert_error(bob_api.delete(f"{SUBSCRIPTIONS}{made['id']}/"), 404)
    assert_error(alice_api.delete(f"{SUBSCRIPTIONS}not-a-uuid/"), 404)
    assert alice_api.get(SUBSCRIPTIONS).json()[0]["id"] == made["id"]
    assert alice_api.delete(f"{SUBSCRIPTIONS}{made['id']}/").status_code == 204
    assert alice_api.get(SUBSCRIPTIONS).json() == []
    assert_error(alice_api.delete(f"{SUBSCRIPTIONS}{made['id']}/"), 404)


def test_subscription_changes_past_the_rate_are_429(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_PUSH_SUBSCRIPTION_RATE = "2/min"
    for _ in range(2):
        assert alice_api.post(SUBSCRIPTIONS, _body(), format="json").status_code in (200, 201)
    response = alice_api.post(SUBSCRIPTIONS, _body(), format="json")
    assert_error(response, 429, code="rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_settings_read_the_defaults_and_patch_turns_email_off(
    alice_api: APIClient, alice: Any, settings: Any
) -> None:
    assert alice_api.get(SETTINGS).json() == {
        "email_notifications": True,
        "push_public_key": settings.VAPID_PUBLIC_KEY,
    }
    response = alice_api.patch(SETTINGS, {"email_notifications": False}, format="json")
    assert response.status_code == 200 and response.json()["email_notifications"] is False
    with rls.acting_as_user(alice):
        assert NotificationPreference.objects.get(user=alice).email_enabled is False


@pytest.mark.parametrize("body", [{}, {"email_notifications": "perhaps"}, {"other": 1}])
def test_bad_settings_are_400_on_the_field(alice_api: APIClient, body: Any) -> None:
    assert_error(alice_api.patch(SETTINGS, body, format="json"), 400, field="email_notifications")


def test_settings_changes_past_the_rate_are_429(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_NOTIFICATION_SETTINGS_RATE = "1/min"
    assert (
        alice_api.patch(SETTINGS, {"email_notifications": False}, format="json").status_code == 200
    )
    response = alice_api.patch(SETTINGS, {"email_notifications": True}, format="json")
    assert_error(response, 429, code="rate_limited")


def test_members_see_and_change_only_their_own_rows(alice: Any, bob: Any) -> None:
    with rls.acting_as_service():
        PushSubscription.objects.create(user=alice, endpoint=ENDPOINT, p256dh="x", auth="y")
        NotificationPreference.objects.create(user=alice, email_enabled=False)
    with rls.acting_as_user(bob):
        assert not PushSubscription.objects.exists()
        assert not NotificationPreference.objects.exists()
        assert PushSubscription.objects.filter(endpoint=ENDPOINT).delete()[0] == 0
    with rls.acting_as_user(alice):
        assert PushSubscription.objects.count() == 1


def test_the_api_index_names_the_notification_endpoints(anon: APIClient) -> None:
    body = anon.get("/api/").json()
    assert body["push_subscriptions"] == SUBSCRIPTIONS
    assert body["notification_settings"] == SETTINGS
