"""The moderation admin never shows a direct message or its messages, also to a moderator or
an admin who is in it (chat/admin.py; row-level security hides them in PostgreSQL too)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chat import services
from chatsite import rls
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_the_admin_lists_no_dm_nor_its_messages(
    alice: Any, channel: Any, post: Any, role: str
) -> None:
    staff = UserFactory.create(username=f"staff-{role}", role=role)
    post(alice, channel, "a public word")
    with rls.acting_as_user(alice):
        dm, _ = services.dm_open(user=alice, user_ids=[staff.pk])
        message, _ = services.message_create(user=alice, channel_id=dm.pk, content="just us")
    client = signed_in(staff)

    messages = client.get("/admin/chat/message/")
    assert messages.status_code == 200
    assert b"a public word" in messages.content
    assert b"just us" not in messages.content and dm.name.encode() not in messages.content
    assert b"just us" not in client.get("/admin/chat/message/?q=just").content

    channels = client.get("/admin/chat/channel/")
    assert channels.status_code == 200
    assert b"general" in channels.content and dm.name.encode() not in channels.content

    for url in (
        f"/admin/chat/message/{message.pk}/change/",
        f"/admin/chat/channel/{dm.pk}/change/",
    ):
        response = client.get(url, follow=True)
        assert b"just us" not in response.content
        assert response.redirect_chain, url  # "does not exist": back to the index
