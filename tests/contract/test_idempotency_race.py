"""Two identical POST /api/chat/messages racing on separate connections create one message."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from chat.models import Message
from tests.contract.conftest import bearer
from tests.factories import ChannelFactory, UserFactory

RACERS = 4


@pytest.mark.django_db(transaction=True)
def test_identical_requests_racing_create_one_message() -> None:
    user = UserFactory.create()
    # The poster is not a member yet: the racers also race to join the public channel.
    channel = ChannelFactory.create()
    payload = {
        "channel_id": str(channel.pk),
        "content": "only once",
        "client_id": str(uuid.uuid4()),
    }
    header = bearer(user)
    barrier = threading.Barrier(RACERS, timeout=10)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=header)
            barrier.wait()
            response = client.post("/api/chat/messages", payload, format="json")
            results.append((response.status_code, response.json()))
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (RACERS - 1) + [201]
    assert len({body["id"] for _, body in results}) == 1
    assert Message.objects.filter(channel=channel).count() == 1
    channel.refresh_from_db()
    assert channel.last_seq == 1
