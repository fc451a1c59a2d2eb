"""Log output of real flows: JSON lines with request ids, and never a secret (docs/operations.md).

The flows go through the ASGI application (Django's AsyncClient for HTTP, Channels'
WebsocketCommunicator for the socket), so the middleware runs as it does under Daphne.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient
from django.urls import path
from rest_framework_simplejwt.tokens import AccessToken

from chatsite import logs
from chatsite.asgi import application
from tests.factories import PASSWORD, ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@transaction.non_atomic_requests
def _broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


# Used as ROOT_URLCONF by the failure test.
urlpatterns = [path("broken", _broken_view)]


class LogCapture:
    """Every record that reaches the root logger, rendered by the production JSON formatter."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.json_formatter())

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        parsed = []
        for raw in self.text.splitlines():
            if raw.strip():
                parsed.append(json.loads(raw))  # every line must be valid JSON
        return parsed

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == name]

    def request_line(self, path: str) -> dict[str, Any]:
        found = [line for line in self.events("request_finished") if line.get("path") == path]
        assert len(found) == 1, f"expected one request_finished for {path}, got {found}"
        return found[0]


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    root = logging.getLogger()
    root.addHandler(capture.handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(level)


@pytest.fixture
def _generous_rate_limits(settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "100000/min"
    settings.CHAT_MESSAGE_RATE = "100000/min"


def _assert_no_secret(capture: LogCapture, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in capture.text, "a secret reached the log"
    assert "eyJ" not in capture.text, "something that looks like a JWT reached the log"


async def _websocket_session(access: str, request_id: str) -> None:
    """Connect with the token in the subprotocol list, get the welcome, close with 1000."""
    ws = WebsocketCommunicator(
        application,
        "/ws/chat/",
        subprotocols=["chat.v1", f"bearer.{access}"],
        headers=[(b"x-request-id", request_id.encode())],
    )
    connected, subprotocol = await ws.connect(timeout=5)
    assert connected
    assert subprotocol == "chat.v1"
    welcome = await ws.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome"
    await ws.disconnect(code=1000)


def _assert_session_line(capture: LogCapture, user: Any, request_id: str) -> None:
    [session] = capture.events("websocket_session")
    assert session["request_id"] == request_id
    assert session["user_id"] == user.pk  # the same type as on request lines
    assert session["auth"] == "token"
    assert session["accepted"] is True
    assert session["close_code"] == 1000
    assert session["closed_by"] == "client"
    assert session["path"] == "/ws/chat/"
    assert session["duration_ms"] >= 0


def _make_user_and_channel() -> tuple[Any, Any]:
    from django.db import connections

    from chatsite import rls

    try:
        with rls.acting_as_service():
            user = UserFactory.create(username="logalice")
            channel = ChannelFactory.create(name="ops-logs", created_by=user)
            MembershipFactory.create(channel=channel, user=user, role="owner")
        return user, channel
    finally:
        connections.close_all()


async def test_healthz_logs_one_json_line_and_echoes_the_request_id(
    captured_logs: LogCapture,
) -> None:
    response = await AsyncClient().get(
        "/healthz", headers={"X-Request-ID": "probe-42", "X-Forwarded-For": "203.0.113.66"}
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "probe-42"
    line = captured_logs.request_line("/healthz")
    assert line["request_id"] == "probe-42"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["user_id"] is None
    assert line["ip"] == "127.0.0.1", "the peer address, not what the client claims"
    assert line["level"] == "info"
    assert not captured_logs.events("request_started")  # one line per request at INFO


async def test_a_malformed_request_id_is_replaced_by_a_uuid(captured_logs: LogCapture) -> None:
    response = await AsyncClient().get("/healthz", headers={"X-Request-ID": "bad id\nforged"})
    generated = response["X-Request-ID"]
    assert str(uuid.UUID(generated)) == generated
    assert captured_logs.request_line("/healthz")["request_id"] == generated
    assert "forged" not in captured_logs.text


@pytest.mark.usefixtures("_generous_rate_limits")
async def test_login_refresh_post_and_websocket_session_log_ids_but_no_secrets(
    captured_logs: LogCapture,
) -> None:
    user, channel = await sync_to_async(_make_user_and_channel)()
    client = AsyncClient()

    failed = await client.post(
        "/api/auth/token/",
        {"username": "logalice", "password": "wrong-" + PASSWORD},
        content_type="application/json",
    )
    assert failed.status_code == 401
    login = await client.post(
        "/api/auth/token/",
        {"username": "logalice", "password": PASSWORD},
        content_type="application/json",
        headers={"X-Request-ID": "login-1"},
    )
    assert login.status_code == 200, login.content
    tokens = login.json()
    refreshed = await client.post(
        "/api/auth/token/refresh/",
        {"refresh": tokens["refresh"]},
        content_type="application/json",
    )
    assert refreshed.status_code == 200, refreshed.content
    access = refreshed.json()["access"]
    posted = await client.post(
        "/api/chat/messages",
        {"channel_id": str(channel.pk), "content": "hello from the log test"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert posted.status_code == 201, posted.content

    await _websocket_session(access, request_id="ws-session-1")

    token_lines = [
        line
        for line in captured_logs.events("request_finished")
        if line["path"] in ("/api/auth/token/", "/api/auth/token")
    ]
    assert [line["status"] for line in token_lines] == [401, 200]
    assert token_lines[1]["request_id"] == "login-1"
    refresh_line = next(
        line
        for line in captured_logs.events("request_finished")
        if line["path"].startswith("/api/auth/token/refresh")
    )
    assert refresh_line["status"] == 200
    post_line = next(
        line
        for line in captured_logs.events("request_finished")
        if line["path"].startswith("/api/chat/messages")
    )
    assert post_line["status"] == 201
    assert post_line["method"] == "POST"
    assert str(post_line["user_id"]) == str(user.pk)
    generated_ids = [
        line["request_id"]
        for line in captured_logs.events("request_finished")
        if line["request_id"] != "login-1"
    ]
    assert len(generated_ids) == 3
    assert all(str(uuid.UUID(value)) == value for value in generated_ids)

    _assert_session_line(captured_logs, user, request_id="ws-session-1")

    _assert_no_secret(
        captured_logs,
        [PASSWORD, "wrong-" + PASSWORD, tokens["access"], tokens["refresh"], access]
        + ([refreshed.json()["refresh"]] if "refresh" in refreshed.json() else []),
    )


async def test_refused_websocket_handshake_is_logged_too(captured_logs: LogCapture) -> None:
    ws = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await ws.connect(timeout=5)
    assert not connected
    await ws.disconnect()  # as Daphne does after a refused handshake; the app then ends
    [session] = captured_logs.events("websocket_session")
    assert session["accepted"] is False
    assert session["user_id"] is None
    assert str(uuid.UUID(session["request_id"])) == session["request_id"]


async def test_websocket_session_logs_one_line_with_user_and_close_code(
    captured_logs: LogCapture,
) -> None:
    user, _ = await sync_to_async(_make_user_and_channel)()
    access = str(AccessToken.for_user(user))
    await _websocket_session(access, request_id="ws-only-1")
    _assert_session_line(captured_logs, user, request_id="ws-only-1")
    _assert_no_secret(captured_logs, [access])


async def test_an_unhandled_error_logs_one_request_failed_line_with_the_traceback(
    captured_logs: LogCapture, settings: Any
) -> None:
    settings.ROOT_URLCONF = __name__
    client = AsyncClient(raise_request_exception=False)
    response = await client.get("/broken", headers={"X-Request-ID": "broken-1"})
    assert response.status_code == 500
    assert response["X-Request-ID"] == "broken-1"
    lines = [line for line in captured_logs.lines() if line.get("request_id") == "broken-1"]
    assert [line["event"] for line in lines] == ["request_failed"]
    assert lines[0]["status"] == 500
    assert lines[0]["path"] == "/broken"
    assert "RuntimeError: boom" in lines[0]["exception"]


async def test_a_bad_token_session_logs_the_server_close_and_not_the_token(
    captured_logs: LogCapture,
) -> None:
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.Zm9yZ2Vk"
    ws = WebsocketCommunicator(
        application, "/ws/chat/", subprotocols=["chat.v1", f"bearer.{forged}"]
    )
    connected, _ = await ws.connect(timeout=5)
    assert connected
    event = await ws.receive_json_from(timeout=5)
    assert event["code"] == "unauthorized"
    closed = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    await ws.wait(timeout=5)

    [session] = captured_logs.events("websocket_session")
    assert session["user_id"] is None
    assert session["accepted"] is True
    assert session["close_code"] == 4401
    assert session["closed_by"] == "server"
    _assert_no_secret(captured_logs, [forged, "Zm9yZ2Vk"])
