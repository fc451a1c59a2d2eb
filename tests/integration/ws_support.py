"""Shared pieces of the WebSocket tests: tokens, session cookies, and waiting for events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from chat import presence, realtime
from chatsite.asgi import application

SITE_ORIGIN = (b"origin", b"http://localhost")
SITE_HOST = (b"host", b"localhost")  # browsers send both; the origin must match the host
TIMEOUT = 5.0


def access_token(user: Any, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def token_protocols(user: Any, lifetime: timedelta | None = None) -> list[str]:
    return ["chat.v1", f"bearer.{access_token(user, lifetime)}"]


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def communicator(
    *,
    protocols: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/ws/chat/",
) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers or [], subprotocols=protocols)


async def receive_until(
    ws: WebsocketCommunicator, match: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first event that matches, and the ones that came before it."""
    skipped: list[dict[str, Any]] = []
    while True:
        event = await ws.receive_json_from(timeout=timeout)
        if match(event):
            return event, skipped
        skipped.append(event)


async def receive_type(
    ws: WebsocketCommunicator, kind: str, timeout: float = TIMEOUT
) -> dict[str, Any]:
    event, _ = await receive_until(ws, lambda e: e["type"] == kind, timeout=timeout)
    return event


async def close_code(ws: WebsocketCommunicator, timeout: float = TIMEOUT) -> int:
    """Skip events until the server closes; the close code. Ends the application too."""
    while True:
        output = await ws.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            # As a server would: tell the application that the socket is gone.
            await ws.disconnect(code=int(output.get("code", 1000)))
            return int(output.get("code", 1000))


async def forget_presence() -> None:
    """Drop presence and typing keys left by earlier runs (user ids restart with the database)."""
    client = presence._client()
    prefix = presence._prefix()
    for pattern in (f"{prefix}:presence:*", f"{prefix}:typing:*"):
        keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
        if keys:
            await client.delete(*keys)


@pytest.fixture
async def fresh_layer_per_loop() -> AsyncIterator[None]:
    """Each test runs on its own event loop: give it its own layer and real-time state.

    channels_redis keeps a receive lock bound to the loop that first used it; chat.realtime
    binds the process's layer, Redis client, keep-alive and presence outbox to one loop.
    """
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    await forget_presence()
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        # RedisChannelLayer: close its pools; RedisPubSubChannelLayer: unsubscribe and close.
        close = getattr(layer, "close_pools", None) or layer.flush
        await close()
    await realtime.stop()
