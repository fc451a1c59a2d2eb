"""Signing out everywhere and password changes end open sockets: at once through the layer
event, and within a heartbeat through the re-check even when no event arrives
(accounts.services.user_sign_out_everywhere, chat.keepalive)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.utils import timezone

from accounts import services
from accounts.models import User
from chat import consumers
from tests.integration.test_ws_consumer import connect
from tests.integration.test_ws_rights import connect_with_cookie
from tests.integration.ws_support import (
    close_code,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


async def test_a_token_socket_closes_within_a_heartbeat_once_its_token_is_revoked(
    alice: Any,
) -> None:
    with override_settings(HEARTBEAT_SECONDS=1):
        ws = await connect(alice)
        # Straight in the database: no event, only the heartbeat's re-check can tell.
        cut_off = timezone.now() + timedelta(seconds=1)
        await database_sync_to_async(
            lambda: User.objects.filter(pk=alice.pk).update(tokens_valid_after=cut_off)
        )()
        error = await receive_type(ws, "error", timeout=4)
        assert error["code"] == "unauthorized"
        assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_signing_out_everywhere_closes_token_and_cookie_sockets_at_once(
    alice: Any,
) -> None:
    with override_settings(HEARTBEAT_SECONDS=600):  # no re-check in this test's time
        token_ws = await connect(alice)
        cookie_ws, _cookie = await connect_with_cookie(alice)
        user = await database_sync_to_async(User.objects.get)(pk=alice.pk)
        await database_sync_to_async(services.user_sign_out_everywhere)(user=user)
        for ws in (token_ws, cookie_ws):
            error = await receive_type(ws, "error", timeout=5)
            assert error["code"] == "unauthorized"
            assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED
