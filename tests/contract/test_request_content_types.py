"""The API reads JSON bodies only, as its schema says; any other body is a 415 in the error
shape, through the WSGI app and through a live Daphne alike (docs/api.md, "Conventions").
Inside the JSON, a value of another type than the schema's is a 400, not coerced."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat.models import Channel, Message
from tests.contract.conftest import assert_error

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]

BOUNDARY = "c637e12e2b1a998d80d1b087531af51c"
EMPTY_MULTIPART = f"--{BOUNDARY}--\r\n"
GARBAGE_MULTIPART = f"--{BOUNDARY}\r\nnot a part at all\r\n"


def test_the_schema_offers_json_request_bodies_only_and_documents_415(anon: APIClient) -> None:
    schema = anon.get("/api/schema/?format=json").json()
    with_body = [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 8
    for method, path, operation in with_body:
        # Uploads are the one multipart body (docs/api.md, "Attachments").
        expected = ["multipart/form-data"] if path == "/api/chat/uploads/" else ["application/json"]
        assert list(operation["requestBody"]["content"]) == expected, (method, path)
        assert "415" in operation["responses"], (method, path)
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "503" in operation["responses"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "channel_id={channel}&content=hi"),
        (f"multipart/form-data; boundary={BOUNDARY}", GARBAGE_MULTIPART),
        ("text/plain", '{{"channel_id": "{channel}", "content": "hi"}}'),
    ],
)
def test_a_body_that_is_not_json_is_a_415_and_stores_nothing(
    alice_api: APIClient, channel: Any, content_type: str, body: str
) -> None:
    data = body.format(channel=channel.pk)
    response = alice_api.post("/api/chat/messages", data, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert not Message.objects.exists()


def test_form_coercions_are_gone(alice_api: APIClient) -> None:
    """A form said is_private=0 and got a public channel; a boolean must be JSON's."""
    response = alice_api.post(
        "/api/chat/channels/",
        "name=formed&is_private=0",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415, "unsupported_media_type")
    assert not Channel.objects.filter(name="formed").exists()


def test_an_empty_multipart_token_refresh_answers_in_the_error_shape(anon: APIClient) -> None:
    response = anon.post(
        "/api/auth/token/refresh/",
        EMPTY_MULTIPART,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_a_garbage_multipart_member_add_is_a_415(
    alice_api: APIClient, channel: Any, bob: Any
) -> None:
    response = alice_api.post(
        f"/api/chat/channels/{channel.pk}/members/",
        GARBAGE_MULTIPART,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_the_browsable_api_posts_raw_json_for_a_session_user(alice: Any) -> None:
    """The browsable API's "Raw data" tab sends application/json with the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/api/chat/channels/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_content_type"' in html and "application/json" in html
    assert "multipart/form-data" not in html  # no HTML-form tab without a form parser
    response = client.post(
        "/api/chat/channels/",
        json.dumps({"name": "browsed"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 201, response.content
    assert Channel.objects.filter(name="browsed").exists()


@pytest.mark.django_db(transaction=True)
def test_daphne_hands_a_malformed_multipart_body_to_the_api(daphne: Any) -> None:
    """Twisted used to answer it with a bare 400 and an empty body before Django saw it."""
    request = urllib.request.Request(  # noqa: S310 (a live server of the test)
        f"{daphne.url}/api/auth/token/refresh/",
        data=EMPTY_MULTIPART.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 415
    assert refused.value.headers["Content-Type"] == "application/json"
    body = json.loads(refused.value.read())
    assert body["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/api/chat/channels/", {"name": "typed", "is_private": "0"}, "is_private"),
        ("/api/chat/channels/", {"name": "typed", "is_private": 1}, "is_private"),
        ("/api/chat/channels/{channel}/read/", {"seq": "1"}, "seq"),
        ("/api/chat/channels/{channel}/read/", {"seq": True}, "seq"),
    ],
)
def test_json_values_of_another_type_are_refused_not_coerced(
    alice_api: APIClient, channel: Any, path: str, payload: dict, field: str
) -> None:
    response = alice_api.post(path.format(channel=channel.pk), payload)
    assert_error(response, 400, "validation_error", field=field)
    assert not Channel.objects.filter(name="typed").exists()


def test_a_number_is_not_a_username_email_or_password(anon: APIClient) -> None:
    body = {"username": 12345, "email": "n@example.com", "password": 8.5e144}
    error = assert_error(anon.post("/api/auth/register/", body), 400, "validation_error")
    assert set(error["fields"]) == {"username", "password"}


def test_a_member_to_add_may_be_named_by_a_numeric_id(
    alice_api: APIClient, channel: Any, bob: Any, anon: APIClient
) -> None:
    """As the schema says: user_id is the string the API writes, or that number."""
    url = f"/api/chat/channels/{channel.pk}/members/"
    assert alice_api.post(url, {"user_id": bob.pk}).status_code == 201
    user_id = anon.get("/api/schema/?format=json").json()["components"]["schemas"][
        "MemberAddRequest"
    ]["properties"]["user_id"]
    assert {branch["type"] for branch in user_id["oneOf"]} == {"string", "integer"}
