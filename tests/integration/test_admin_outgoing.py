"""Outgoing webhooks and their delivery log in the admin (docs/integrations.md), with
Django's test client: a moderator adds a hook (its secret shown once), a refused URL is a
form error, revoking and new secrets, and the read-only, filtered delivery log."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from chat import services as chat_services
from chatsite import rls
from integrations import outgoing
from integrations.models import OutgoingDelivery, OutgoingWebhook

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def _outgoing_settings(settings: Any) -> None:
    settings.CHAT_BOT_MANAGE_RATE = "100000/min"
    settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    settings.CHAT_OUTGOING_WEBHOOK_REFRESH = 0


@pytest.fixture
def moderator_client(moderator: Any) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def _shown(response: Any) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_a_moderator_adds_a_hook_and_sees_its_secret_once(
    moderator_client: Client, channel: Any
) -> None:
    response = moderator_client.post(
        "/admin/integrations/outgoingwebhook/add/",
        {
            "channel": str(channel.pk),
            "name": "Deployer",
            "url": URL,
            "trigger_words_text": "!deploy  !status",
        },
        follow=True,
    )
    assert response.status_code == 200
    found = re.search(r"(cso_[\w-]{20,})", _shown(response))
    assert found, _shown(response)
    hook = OutgoingWebhook.objects.get()
    assert hook.secret == found.group(1)
    assert hook.trigger_words == ["!deploy", "!status"]
    assert hook.bot.is_bot and hook.created_by is not None
    page = moderator_client.get(f"/admin/integrations/outgoingwebhook/{hook.pk}/change/")
    assert page.status_code == 200
    assert found.group(1) not in page.content.decode()


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "ftp://127.0.0.1/", "http://10.0.0.1/"])
def test_the_admin_refuses_a_destination_that_is_not_allowed(
    moderator_client: Client, channel: Any, url: str
) -> None:
    response = moderator_client.post(
        "/admin/integrations/outgoingwebhook/add/",
        {"channel": str(channel.pk), "name": "Meta", "url": url},
    )
    assert response.status_code == 200  # the form again, with its error
    assert "errorlist" in response.content.decode()
    assert not OutgoingWebhook.objects.exists()


def test_the_admin_refuses_a_hook_for_an_archived_channel(
    moderator_client: Client, moderator: Any, channel: Any
) -> None:
    chat_services.channel_archive(moderator=moderator, channel_id=channel.pk)
    response = moderator_client.post(
        "/admin/integrations/outgoingwebhook/add/",
        {"channel": str(channel.pk), "name": "Late", "url": URL},
    )
    assert "archived" in response.content.decode()
    assert not OutgoingWebhook.objects.exists()


def test_the_admin_refuses_a_hook_for_a_direct_message(
    moderator_client: Client, alice: Any, bob: Any
) -> None:
    dm = chat_services.dm_open(user=alice, user_ids=[bob.pk])[0]
    response = moderator_client.post(
        "/admin/integrations/outgoingwebhook/add/",
        {"channel": str(dm.pk), "name": "Spy", "url": URL},
    )
    assert "errorlist" in response.content.decode()  # the form again, with its error
    assert not OutgoingWebhook.objects.exists()


def test_members_never_reach_the_outgoing_admin(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    for path in ("outgoingwebhook/add/", "outgoingdelivery/"):
        assert client.get(f"/admin/integrations/{path}").status_code == 302


def test_revoke_and_new_secrets_and_the_delivery_log(
    moderator_client: Client, alice: Any, channel: Any
) -> None:
    with rls.acting_as_user(alice):
        hook, secret = outgoing.outgoing_hook_create(
            actor=alice, channel_id=channel.pk, name="CI", url=URL
        )
        chat_services.message_create(user=alice, channel_id=channel.pk, content="hello")
    response = moderator_client.post(
        "/admin/integrations/outgoingwebhook/",
        {"action": "rotate_secrets", "_selected_action": [str(hook.pk)]},
        follow=True,
    )
    hook.refresh_from_db()
    assert hook.secret != secret and hook.secret in _shown(response)
    moderator_client.post(
        "/admin/integrations/outgoingwebhook/",
        {"action": "revoke_selected", "_selected_action": [str(hook.pk)]},
    )
    hook.refresh_from_db()
    assert hook.revoked_at is not None

    delivery = OutgoingDelivery.objects.get()
    listing = moderator_client.get("/admin/integrations/outgoingdelivery/?status__exact=pending")
    assert listing.status_code == 200 and "CI" in listing.content.decode()
    failed = moderator_client.get("/admin/integrations/outgoingdelivery/?status__exact=failed")
    assert "0 outgoing deliveries" in failed.content.decode()
    page = moderator_client.get(f"/admin/integrations/outgoingdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()  # read-only
    assert moderator_client.get("/admin/integrations/outgoingdelivery/add/").status_code == 403
