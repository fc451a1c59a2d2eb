"""Security headers on HTML pages and API responses; CORS allow and deny (docs/operations.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

pytestmark = pytest.mark.django_db

ALLOWED_ORIGIN = "https://app.example.com"


def _directives(response: Any) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def _assert_common_headers(response: Any) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response["X-Request-ID"])
    csp = _directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]


def test_html_page_has_csp_nonce_matching_its_script_tags(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/", headers={"X-Request-ID": "page-1"})
    assert response.status_code == 200
    _assert_common_headers(response)
    assert response["X-Request-ID"] == "page-1"
    nonces = set(re.findall(r'<script[^>]* nonce="([^"]+)"', response.content.decode()))
    assert len(nonces) == 1, "the page's script tags should carry one nonce"
    nonce = nonces.pop()
    csp = _directives(response)
    assert f"'nonce-{nonce}'" in csp["script-src"]
    assert "'self'" in csp["script-src"]
    # The live room connects back to its own origin over WebSocket.
    assert "ws://testserver" in csp["connect-src"]

    again = client.get("/")
    assert nonce not in again["Content-Security-Policy"], "a nonce must never be reused"


def test_login_page_has_the_security_headers() -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    _assert_common_headers(response)


def test_wss_origin_is_allowed_when_the_request_came_over_https(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get(
        "/accounts/login/", headers={"X-Forwarded-Proto": "https", "Host": "localhost"}
    )
    assert "wss://localhost" in _directives(response)["connect-src"]


def test_api_response_has_the_security_headers_and_request_id(alice: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(alice).access_token}")
    response = client.get("/api/chat/channels/", HTTP_X_REQUEST_ID="api-7")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    _assert_common_headers(response)
    assert response["X-Request-ID"] == "api-7"


def test_api_error_response_has_the_security_headers_too() -> None:
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 401
    _assert_common_headers(response)


def test_cors_preflight_from_an_allowed_origin_is_answered(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    response = Client().options(
        "/api/chat/messages",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed_headers = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "Access-Control-Allow-Credentials" not in response


def test_cors_simple_request_from_an_allowed_origin_exposes_request_id(
    settings: Any, alice: Any
) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(alice).access_token}")
    response = client.get("/api/chat/channels/", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    exposed = response["Access-Control-Expose-Headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed


def test_cors_denies_an_origin_that_is_not_listed(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    preflight = Client().options(
        "/api/chat/messages",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight
    simple = Client().get("/api/auth/me/", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in simple


def test_cors_applies_to_the_api_only(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    response = Client().get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_cors_is_closed_by_default() -> None:
    response = Client().get("/api/auth/me/", headers={"Origin": ALLOWED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response


def test_api_docs_page_runs_no_inline_script_under_the_csp() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    _assert_common_headers(response)
    tags = re.findall(r"<script[^>]*>", response.content.decode())
    assert tags
    assert all("src=" in tag or "nonce=" in tag for tag in tags), tags
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_a_disallowed_host_gets_a_400_with_the_headers_and_no_crash() -> None:
    response = Client().get("/accounts/login/", headers={"Host": "evil.example.net"})
    assert response.status_code == 400
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "evil.example.net" not in response["Content-Security-Policy"]


def test_lockout_response_outside_the_api_is_plain_text() -> None:
    from django.test import RequestFactory

    from chatsite.security import lockout_response

    response = lockout_response(RequestFactory().post("/accounts/login/"))
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain")
    assert int(response["Retry-After"]) >= 1
