"""PATCH /api/chat/channels/{id}/ with retention_days: moderators only, bad input named."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.contract.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_moderator_sets_and_clears_retention(moderator_api: APIClient, channel: Any) -> None:
    url = f"/api/chat/channels/{channel.pk}/"
    response = moderator_api.patch(url, {"retention_days": 90}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["retention_days"] == 90
    assert response.json()["trimmed_seq"] == 0
    response = moderator_api.patch(url, {"retention_days": None}, format="json")
    assert response.json()["retention_days"] is None
    assert moderator_api.get(url).json()["retention_days"] is None


def test_owner_cannot_set_retention(alice_api: APIClient, channel: Any) -> None:
    response = alice_api.patch(
        f"/api/chat/channels/{channel.pk}/", {"retention_days": 0}, format="json"
    )
    assert_error(response, 403, code="moderators_only")
    channel.refresh_from_db()
    assert channel.retention_days is None


@pytest.mark.parametrize("value", [-1, 36501, "soon", 1.5, True])
def test_bad_retention_is_400_naming_the_field(
    moderator_api: APIClient, channel: Any, value: Any
) -> None:
    response = moderator_api.patch(
        f"/api/chat/channels/{channel.pk}/", {"retention_days": value}, format="json"
    )
    assert_error(response, 400, field="retention_days")
