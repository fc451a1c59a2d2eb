"""Property-based run of schemathesis against /api/schema/, signed in, with every check.

Every operation of the schema gets generated requests, valid and invalid, sent through the
WSGI app to PostgreSQL, and every built-in check of schemathesis (``--checks all``) judges the
answer: no 5xx, no undocumented status, header or content type, no response that breaks its
schema, schema-invalid requests refused and schema-valid ones accepted. The example count is
small and the generation derandomized, so the run stays short and repeatable.
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
from schemathesis.checks import CHECKS, load_all_checks

from tests.contract.conftest import bearer
from tests.factories import ChannelFactory, MembershipFactory

# Schema-valid requests that the API still refuses with a 400, because the rule is one that
# OpenAPI cannot state (so "positive data acceptance" must allow a 400 there, and only there):
# - a cursor is opaque, made by the server: one made up by the client is "Invalid cursor.";
# - before, after and since_seq of the history are mutually exclusive (OpenAPI cannot say that
#   of query parameters), and before/after must name a message of the channel;
# - a new account's password passes Django's password validators, its username is free and
#   does not look like a taken one;
# - a channel name is free; a member to add exists; only a member keeps a read marker (or
#   notification settings);
# - message content has a visible character (the pattern only excludes white space);
# - a display name holds no control or formatting character;
# - a password change needs the right current password, and the new one passes the validators;
# - an invitation's expiry lies in the future, within a year;
# - a search query has something to search for, and its filters are well-formed (dates,
#   has:link), rules of the query language that a pattern cannot state;
# - a direct message names existing, active people, 2-9 with its creator;
# - the last owner of a private channel stays.
# - a reaction is one Unicode emoji (the emoji data, not a pattern, decides), a reply's parent
#   is a top-level message of the same channel, a thread is a top-level message.
# - a push subscription's endpoint is a public https push service (no private address, no
#   other scheme or port), its keys a P-256 point and a 16-byte secret, and push needs VAPID
#   keys on the server.
CONFIG = """
[[operations]]
include-name = [
    "GET /api/chat/channels/",
    "GET /api/chat/channels/{channel_id}/members/",
    "GET /api/chat/messages/",
    "PATCH /api/auth/me/",
    "POST /api/auth/invites/",
    "POST /api/auth/password/",
    "POST /api/auth/register/",
    "POST /api/chat/channels/",
    "POST /api/chat/channels/{channel_id}/members/",
    "POST /api/chat/channels/{channel_id}/read/",
    "POST /api/chat/messages/",
    "PATCH /api/chat/messages/{message_id}/",
    "GET /api/chat/search/",
    "POST /api/chat/dms/",
    "DELETE /api/chat/channels/{channel_id}/members/{user_id}/",
    "POST /api/chat/messages/{message_id}/reactions/",
    "POST /api/chat/preview/",
    "GET /api/chat/mentions/",
    "PATCH /api/chat/channels/{channel_id}/membership/",
    "POST /api/notifications/push-subscriptions/",
]
checks.positive_data_acceptance.expected-statuses = [
    "2XX", "3XX", 400, 401, 403, 404, 409, 429, "5XX"
]
"""

# Loaded once, at collection, from the served document (the schema view needs no database).
# (schemathesis' lazy fixture loader does not run under pytest 9, hence no from_fixture.)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    get_wsgi_application(),
    config=schemathesis.config.SchemathesisConfig.from_str(CONFIG),
)
# Fuzzing only (valid and invalid data), bounded by max_examples below; the coverage phase
# would add hundreds of boundary cases per operation and minutes to the run. Content types
# the schema does not list are tested in test_request_content_types.py.
schema.config.phases.coverage.enabled = False

load_all_checks()
ALL_CHECKS = CHECKS.get_all()


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


def test_every_check_of_schemathesis_runs() -> None:
    names = {check.__name__ for check in ALL_CHECKS}
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
    } <= names


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
    case.call_and_validate(headers=signed_in, checks=ALL_CHECKS)
