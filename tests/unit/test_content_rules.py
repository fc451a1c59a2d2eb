"""Message content with nothing visible is refused and bidirectional controls are stripped,
by the one validator behind REST, the WebSocket and the room form (chat/validators.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat.models import Message
from chat.validators import BIDI_CONTROLS, clean_content, content_problem
from tests.contract.conftest import assert_error, bearer

pytestmark = pytest.mark.django_db

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c\u200d",  # zero-width non-joiner, joiner
    "\u2060\ufeff",  # word joiner, BOM
    "\u00ad",  # soft hyphen
    "\u3164\u2800",  # Hangul filler, braille blank
    "\u0301\u0302",  # combining marks with no base
    " \u200b\n\u2063 ",  # mixed with whitespace
    "\u202e\u2066",  # only bidi controls (stripped to nothing)
    "\U000e0041\U000e0042",  # tag characters
]


@pytest.mark.parametrize("content", INVISIBLE)
def test_content_without_a_visible_character_is_refused(content: str) -> None:
    assert content_problem(content) is not None


@pytest.mark.parametrize(
    "content", ["a", "\u200bhi", "👍", "👩\u200d💻", "e\u0301", "日本", "\u05e9\u05dc\u05d5\u05dd"]
)
def test_content_with_a_visible_character_is_accepted(content: str) -> None:
    assert content_problem(content) is None


def test_bidi_controls_are_stripped_and_the_rest_kept() -> None:
    assert clean_content("pay \u202eusd 01\u202c now") == "pay usd 01 now"
    assert not set(clean_content("".join(BIDI_CONTROLS) + "x")) & BIDI_CONTROLS
    # Emoji sequences keep their zero-width joiner.
    assert clean_content("👩\u200d💻") == "👩\u200d💻"


def test_rest_refuses_zero_width_content_and_strips_bidi(alice: Any, channel: Any) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=bearer(alice))
    url = "/api/chat/messages"
    refused = api.post(url, {"channel_id": str(channel.pk), "content": "\u200b\u200d"}, "json")
    assert_error(refused, 400, "validation_error", field="content")
    posted = api.post(url, {"channel_id": str(channel.pk), "content": "a\u202eb\u2066c"}, "json")
    assert posted.status_code == 201
    assert posted.json()["content"] == "abc"
    edited = api.patch(f"{url}/{posted.json()['id']}", {"content": "\u200f"}, "json")
    assert_error(edited, 400, "validation_error", field="content")
    assert list(Message.objects.values_list("content", flat=True)) == ["abc"]


def test_the_room_form_refuses_zero_width_content(alice: Any, channel: Any) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(f"/channels/{channel.name}/", {"content": "\u2060\ufeff"})
    assert response.status_code == 400
    assert "visible character" in response.content.decode()
    assert not Message.objects.exists()
