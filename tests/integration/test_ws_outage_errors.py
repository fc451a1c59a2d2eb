"""The consumer when PostgreSQL or Redis fails under it, in process (WebsocketCommunicator).

tests/integration/test_outages.py stops real services under a live server; these make the
same failures happen on purpose, one operation at a time.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async
from django.db import close_old_connections
from django.db.utils import OperationalError

from chat import consumers, presence, realtime, services, ws_auth
from tests.integration.ws_support import (
    close_code,
    communicator,
    fresh_layer_per_loop,  # noqa: F401 (a fixture)
    receive_type,
    token_protocols,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layer_per_loop"),
]


def _database_away(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection failed: Connection refused")


async def test_message_send_while_the_database_is_away_is_an_error_and_the_socket_stays(
    alice: Any, channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = communicator(protocols=token_protocols(alice))
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=5))["type"] == "welcome"
    monkeypatch.setattr(services, "message_create", _database_away)
    client_id = str(uuid.uuid4())
    frame = {"type": "message.send", "channel_id": str(channel.pk), "content": "hi"}
    await ws.send_json_to({**frame, "client_id": client_id})
    error = await receive_type(ws, "error")
    assert error["code"] == "unavailable" and error["ref"] == client_id
    await ws.send_json_to({"type": "ping"})
    assert (await receive_type(ws, "pong"))["type"] == "pong"
    await ws.disconnect()


async def test_connect_while_the_database_is_away_closes_with_4503(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    protocols = token_protocols(alice)
    monkeypatch.setattr(ws_auth, "_user_from_token", _database_away)
    ws = communicator(protocols=protocols)
    connected, _ = await ws.connect()
    assert connected
    error = await ws.receive_json_from(timeout=5)
    assert error["code"] == "unavailable" and error["ref"] == "connect"
    assert await close_code(ws) == consumers.CLOSE_UNAVAILABLE == 4503


@pytest.mark.parametrize("where", ["presence", "hub"])
async def test_connect_while_redis_is_away_closes_with_4503_not_a_500(
    alice: Any, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Redis is away: the presence count of the connect fails, or (another Redis shard) the
    hub cannot open its layer channel. Either way no live event would reach the socket."""

    async def redis_away(*args: Any, **kwargs: Any) -> Any:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    if where == "presence":
        monkeypatch.setattr(presence, "connection_opened", redis_away)
    else:
        monkeypatch.setattr(realtime.current().layer, "new_channel", redis_away)
    ws = communicator(protocols=token_protocols(alice))
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "chat.v1"
    error = await ws.receive_json_from(timeout=5)
    assert error["code"] == "unavailable" and error["ref"] == "connect"
    assert await close_code(ws) == 4503
    # The handshake's authentication left its connection with the worker thread, which the
    # next database call there hands back (in a live server, the next handshake's); do it
    # now, or the test database cannot be dropped at the end.
    await database_sync_to_async(close_old_connections)()
