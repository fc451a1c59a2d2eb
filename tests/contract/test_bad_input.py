"""Bad input on the REST API is a 4xx in the error shape, never a 500 or an HTML page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat.models import Message
from chatsite.api_parsers import MAX_DEPTH
from tests.contract.conftest import assert_error, bearer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_deeply_nested_json_is_a_400_parse_error(
    alice_api: APIClient, channel: Any, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    body = f'{{"channel_id": "{channel.pk}", "content": {nested}}}'
    response = alice_api.post("/api/chat/messages", body, content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert "nested" in response.json()["error"]["detail"]
    assert not Message.objects.exists()


def test_nesting_up_to_the_limit_reaches_the_validation(alice_api: APIClient, channel: Any) -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    body = f'{{"channel_id": "{channel.pk}", "content": {nested}}}'
    response = alice_api.post("/api/chat/messages", body, content_type="application/json")
    assert_error(response, 400, "validation_error", field="content")


def test_deep_objects_are_refused_as_well_as_deep_arrays(alice_api: APIClient) -> None:
    body = '{"a": ' * 900 + "1" + "}" * 900
    response = alice_api.post("/api/chat/channels/", body, content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_path_is_a_json_404_by_any_method_with_a_token(
    alice: Any, method: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    response = getattr(client, method)(
        "/api/nothing/here/", HTTP_AUTHORIZATION=bearer(alice), **body
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["post", "delete"])
def test_an_unknown_api_path_is_a_json_404_for_a_cookie_session_too(
    alice: Any, method: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = getattr(client, method)("/api/chat/nothing", data="{}", content_type="text/plain")
    assert_error(response, 404, "not_found")


def test_a_failed_csrf_check_under_api_answers_in_the_error_shape(alice: Any) -> None:
    """The browsable API's session login is Django's view, checked by the CSRF middleware."""
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/auth/session/login/", {"username": "a", "password": "b"})
    assert_error(response, 403, "csrf_failed")
    # Pages keep Django's own answer.
    page = client.post("/accounts/login/", {"username": "a", "password": "b"})
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
