"""A member who meets a page that is not there sees the site's own 404 page, in the site's
look, whether DEBUG is off (production, the live servers) or on (`make run`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

DEBUG_MIDDLEWARE = [*settings.MIDDLEWARE, "chatsite.security.PlainNotFoundMiddleware"]


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_site_404(response: Any) -> None:
    assert response.status_code == 404
    page = response.content.decode()
    assert "chatsite.css" in page  # the site's stylesheet and layout
    assert '<h1 id="card-title">Not found</h1>' in page
    assert "Back to the channels" in page
    for debug in ("Page not found at", "URLconf", "Traceback", "channels/<"):
        assert debug not in page


@pytest.mark.parametrize("path", ["/channels/nope/", "/no-such-page/", "/channels/secret/"])
def test_a_member_gets_the_site_404_page(alice: Any, bob: Any, private_channel: Any, path: str):
    assert_site_404(_logged_in(bob).get(path))


@override_settings(DEBUG=True, MIDDLEWARE=DEBUG_MIDDLEWARE)
@pytest.mark.parametrize("path", ["/channels/nope/", "/no-such-page/", "/channels/secret/"])
def test_with_debug_on_a_member_still_gets_the_site_404_page(
    alice: Any, bob: Any, private_channel: Any, path: str
) -> None:
    assert_site_404(_logged_in(bob).get(path))


@override_settings(DEBUG=True, MIDDLEWARE=DEBUG_MIDDLEWARE)
def test_with_debug_on_the_api_keeps_its_json_404(bob: Any, private_channel: Any) -> None:
    client = _logged_in(bob)
    response = client.get(f"/api/chat/channels/{private_channel.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
