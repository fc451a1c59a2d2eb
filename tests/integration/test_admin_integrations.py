"""Incoming webhooks and bot tokens in the admin (docs/integrations.md), with Django's test
client: a moderator makes a hook (its URL shown once) and revokes it; bots are marked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from chatsite import rls
from integrations import services
from integrations.models import BotToken, IncomingWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator_client(moderator: Any) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def test_a_moderator_adds_a_hook_and_sees_its_url_once(
    moderator_client: Client, channel: Any
) -> None:
    response = moderator_client.post(
        "/admin/integrations/incomingwebhook/add/",
        {"channel": str(channel.pk), "name": "Grafana"},
        follow=True,
    )
    assert response.status_code == 200
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    found = re.search(r"/api/hooks/(csh_[\w-]+)/", shown)
    assert found, shown
    hook = IncomingWebhook.objects.get()
    assert hook.token_hash == services.token_hash(found.group(1))
    assert hook.bot.is_bot and hook.created_by is not None
    posted = Client().post(
        f"/api/hooks/{found.group(1)}/", json.dumps({"text": "hi"}), content_type="application/json"
    )
    assert posted.status_code == 200
    assert (
        found.group(1)
        not in moderator_client.get(
            f"/admin/integrations/incomingwebhook/{hook.pk}/change/"
        ).content.decode()
    )


def test_the_admin_refuses_a_hook_for_an_archived_channel(
    moderator_client: Client, moderator: Any, channel: Any
) -> None:
    from chat import services as chat_services

    chat_services.channel_archive(moderator=moderator, channel_id=channel.pk)
    response = moderator_client.post(
        "/admin/integrations/incomingwebhook/add/", {"channel": str(channel.pk), "name": "x"}
    )
    assert response.status_code == 200
    assert "archived" in response.content.decode()
    assert not IncomingWebhook.objects.exists()


def test_members_never_reach_the_integrations_admin(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/admin/integrations/incomingwebhook/add/")
    assert response.status_code == 302


def test_revoke_actions_and_a_new_token(
    moderator_client: Client, moderator: Any, alice: Any, channel: Any
) -> None:
    with rls.acting_as_user(alice):
        hook, _ = services.hook_create(actor=alice, channel_id=channel.pk, name="CI")
    with rls.acting_as_user(moderator):
        bot = services.bot_create(actor=moderator, username="deployer")
        row, _ = services.bot_token_create(actor=moderator, bot=bot)
    moderator_client.post(
        "/admin/integrations/incomingwebhook/",
        {"action": "revoke_selected", "_selected_action": [str(hook.pk)]},
    )
    hook.refresh_from_db()
    assert hook.revoked_at is not None
    response = moderator_client.post(
        "/admin/integrations/bottoken/",
        {"action": "new_token_for_the_same_bots", "_selected_action": [str(row.pk)]},
        follow=True,
    )
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    assert re.search(r"csb_[\w-]{20,}", shown), shown
    moderator_client.post(
        "/admin/integrations/bottoken/",
        {"action": "revoke_selected", "_selected_action": [str(row.pk)]},
    )
    assert BotToken.objects.filter(revoked_at__isnull=True).count() == 1
    users = moderator_client.get("/admin/accounts/user/?is_bot__exact=1").content.decode()
    assert "deployer" in users and "alice" not in users
