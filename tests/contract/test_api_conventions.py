"""What holds for every endpoint: optional trailing slash, the error shape, rate limits, docs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.test import APIClient

from chatsite import ratelimit
from chatsite.api_errors import exception_handler
from chatsite.ratelimit import parse_rate
from tests.contract.conftest import assert_error
from tests.factories import UserFactory

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]


def test_every_path_answers_with_and_without_trailing_slash(
    alice_api: APIClient, alice: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi")
    paths = [
        "/api/auth/me",
        "/api/chat/channels",
        f"/api/chat/channels/{channel.pk}",
        f"/api/chat/channels/{channel.pk}/members",
        f"/api/chat/messages/{message.pk}",
        "/api/schema",
    ]
    for path in paths:
        bare, slashed = alice_api.get(path), alice_api.get(f"{path}/")
        assert bare.status_code == slashed.status_code == 200, path
        assert bare.content == slashed.content, path
    history = f"channel_id={channel.pk}"
    assert alice_api.get(f"/api/chat/messages?{history}").status_code == 200
    assert alice_api.get(f"/api/chat/messages/?{history}").status_code == 200
    for path in ("/api/auth/token", "/api/auth/token/refresh", "/api/auth/register"):
        for candidate in (path, f"{path}/"):
            assert alice_api.post(candidate, {}, format="json").status_code == 400, candidate
    for action, status in (("join", 200), ("read", 204), ("leave", 204)):
        for slash in ("", "/"):
            path = f"/api/chat/channels/{channel.pk}/{action}{slash}"
            assert alice_api.post(path, {"seq": 1}, format="json").status_code == status, path


def test_an_unknown_api_path_is_a_json_404(alice_api: APIClient) -> None:
    assert_error(alice_api.get("/api/nothing/here/"), 404, "not_found")
    assert_error(alice_api.get("/api/chat/channels/a/b/c/"), 404, "not_found")


def test_a_method_not_allowed_is_405_in_the_error_shape(alice_api: APIClient) -> None:
    response = alice_api.put("/api/chat/channels/", {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_the_error_handler_maps_django_errors_and_nested_validation() -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert exception_handler(Http404("gone"), {}).data == {  # type: ignore[union-attr]
        "error": {"code": "not_found", "detail": "gone", "fields": {}}
    }
    forbidden = exception_handler(PermissionDenied(), {})
    assert forbidden is not None and forbidden.status_code == 403
    assert forbidden.data["error"]["code"] == "permission_denied"
    nested = exceptions.ValidationError(
        {"author": {"name": ["Too long."]}, "tags": [{"x": ["No."]}]}
    )
    body = exception_handler(nested, {}).data["error"]  # type: ignore[union-attr]
    assert body["fields"] == {"author.name": ["Too long."], "tags.0.x": ["No."]}
    assert body["detail"] == "author.name: Too long."
    plain = exception_handler(exceptions.ValidationError("Bad."), {}).data  # type: ignore[union-attr]
    assert plain == {"error": {"code": "validation_error", "detail": "Bad.", "fields": {}}}
    assert exception_handler(ValueError("not an API error"), {}) is None


def test_parse_rate() -> None:
    assert parse_rate("120/min") == (120, 60)
    assert parse_rate("20/m") == (20, 60)
    assert parse_rate("5/second") == (5, 1)
    assert parse_rate("1000/hour") == (1000, 3600)
    assert parse_rate("9/day") == (9, 86400)


def _reset(limit: ratelimit.Limit, ident: str, period: int) -> None:
    window = int(time.time() // period)
    cache.delete_many([ratelimit.cache_key(limit, ident, w) for w in (window, window + 1)])


def test_message_sends_past_the_rate_are_429_with_retry_after(
    settings: Any, api_for: Any, channel: Any
) -> None:
    settings.CHAT_MESSAGE_RATE = "3/hour"
    user = UserFactory.create()
    _reset(ratelimit.MESSAGE, str(user.pk), 3600)
    client = api_for(user)
    payload = {"channel_id": str(channel.pk), "content": "spam"}
    statuses = [
        client.post("/api/chat/messages", payload, format="json").status_code for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    response = client.post("/api/chat/messages", payload, format="json")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 3600
    # Reads are not counted, and the counter sits in the shared cache (Redis in the suite).
    assert client.get("/api/chat/messages", {"channel_id": str(channel.pk)}).status_code == 200
    window = int(time.time() // 3600)
    assert cache.get(ratelimit.cache_key(ratelimit.MESSAGE, str(user.pk), window)) == 5
    # Another user has a budget of their own.
    other = UserFactory.create()
    _reset(ratelimit.MESSAGE, str(other.pk), 3600)
    assert api_for(other).post("/api/chat/messages", payload, format="json").status_code == 201


def test_token_refresh_and_register_share_the_per_ip_auth_rate(settings: Any, alice: Any) -> None:
    settings.CHAT_AUTH_RATE = "3/hour"
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    _reset(ratelimit.AUTH, address, 3600)
    client = APIClient(REMOTE_ADDR=address)
    assert (
        client.post("/api/auth/token/", {"username": "alice", "password": "x"}).status_code == 401
    )
    assert client.post("/api/auth/token/refresh/", {"refresh": "x"}).status_code == 401
    assert client.post("/api/auth/register/", {}).status_code == 400
    response = client.post("/api/auth/token/", {"username": "alice", "password": "x"})
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.7")
    _reset(ratelimit.AUTH, "198.51.100.7", 3600)
    assert elsewhere.post("/api/auth/register/", {}).status_code == 400


def test_a_forwarded_for_header_does_not_dodge_the_auth_rate(settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/hour"
    _reset(ratelimit.AUTH, "203.0.113.9", 3600)
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    assert client.post("/api/auth/register/", {}, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 400
    blocked = client.post("/api/auth/register/", {}, HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert blocked.status_code == 429


def test_schema_and_docs_are_served_without_a_cdn(anon: APIClient) -> None:
    assert anon.get("/api/schema/").content.startswith(b"openapi: 3")
    schema = anon.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/chat/messages/" in document["paths"]
    assert "jwtAuth" in document["components"]["securitySchemes"]
    for path in ("/api/docs/", "/api/redoc/"):
        page = anon.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn.jsdelivr" not in html
        assert "googleapis" not in html


def test_server_errors_under_api_are_json_and_elsewhere_html(rf: Any) -> None:
    from chatsite.api_errors import server_error

    api = server_error(rf.get("/api/chat/channels/"))
    assert api.status_code == 500
    assert json.loads(api.content)["error"]["code"] == "server_error"
    page = server_error(rf.get("/"))
    assert page.status_code == 500
    assert b"<h1>" in page.content
