"""Property-based run of schemathesis against /api/schema/, signed in.

Every operation of the schema gets generated requests, valid and invalid, sent through the
WSGI app to PostgreSQL. No response may be a 5xx, use an undocumented status, or break the
schema of its status. The example count is small so the run stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import bearer
from tests.factories import ChannelFactory, MembershipFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loaded once, at collection, from the served document (the schema view needs no database).
# (schemathesis' lazy fixture loader does not run under pytest 9, hence no from_fixture.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Fuzzing only (valid and invalid data), bounded by max_examples below; the coverage phase
# would add hundreds of boundary cases per operation and minutes to the run.
schema.config.phases.coverage.enabled = False


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Like Django's test client: the test's transaction holds the connection, so a request
    must not close it when it ends."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def signed_in(
    db: None, alice: Any, bob: Any, channel: Any, private_channel: Any, post: Any
) -> dict:
    """Some real rows for generated requests to meet, and alice's bearer header."""
    ChannelFactory.create(name="random")
    MembershipFactory.create(channel=channel, user=bob)
    for text in ("one", "two", "three"):
        post(bob, channel, text)
    post(alice, private_channel, "hush")
    return {"Authorization": bearer(alice)}


@schema.parametrize()
@pytest.mark.django_db
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, signed_in: dict) -> None:
    case.call_and_validate(headers=signed_in, checks=CHECKS)
