"""Search shows only what the user may read: the app's filter and row-level security each
hold on their own, for results and headlines alike; a slow search is cut off with a 503."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from chat import services
from chat.models import Channel
from chat.selectors import search as search_selector
from tests.factories import MembershipFactory

URL = "/api/chat/search/"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _search(user: Any, q: str) -> list[dict[str, Any]]:
    response = _client(user).get(URL, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def secrets(alice: Any, bob: Any, channel: Any, private_channel: Any, post: Any) -> dict:
    MembershipFactory.create(channel=channel, user=bob)
    return {
        "private": post(alice, private_channel, "zebra crossing plans for the merger"),
        "public": post(alice, channel, "a zebra in the public square"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["zebra", "merger", "crossing plans", "merg", "in:secret zebra"])
def test_an_outsider_never_finds_a_private_channels_messages(
    bob: Any, secrets: dict, q: str
) -> None:
    results = _search(bob, q)
    assert str(secrets["private"].pk) not in {hit["message"]["id"] for hit in results}
    assert all("merger" not in hit["headline"] for hit in results)
    assert all(hit["channel"]["name"] != "secret" for hit in results)


@pytest.mark.django_db
def test_members_and_moderators_find_them(alice: Any, moderator: Any, secrets: dict) -> None:
    assert [hit["message"]["id"] for hit in _search(alice, "merger")] == [
        str(secrets["private"].pk)
    ]
    assert [hit["message"]["id"] for hit in _search(moderator, "merger")] == [
        str(secrets["private"].pk)
    ]


@pytest.mark.django_db
def test_a_direct_message_is_found_by_its_members_only(
    alice: Any, bob: Any, moderator: Any, user_factory: Any, channel: Any, post: Any
) -> None:
    """Not by an outsider, and not by a moderator either: DMs are for their members."""
    carol = user_factory.create(username="carol")
    MembershipFactory.create(channel=channel, user=carol)
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    whisper = post(alice, dm, "quokka between us")
    post(alice, channel, "a quokka in public")
    for user in (alice, bob):
        assert str(whisper.pk) in {hit["message"]["id"] for hit in _search(user, "quokka")}
    for user in (carol, moderator):
        results = _search(user, "quokka")
        assert [hit["message"]["content"] for hit in results] == ["a quokka in public"]
        assert _search(user, "between us") == []
        assert _search(user, f"in:{dm.name} quokka") == []


@pytest.mark.django_db
def test_row_level_security_alone_keeps_private_messages_out(
    bob: Any, secrets: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the application's visibility filter switched off, the policies still hold."""
    monkeypatch.setattr(search_selector, "channels_visible_to", lambda user: Channel.objects.all())
    ids = {hit["message"]["id"] for hit in _search(bob, "zebra")}
    assert ids == {str(secrets["public"].pk)}


def _runtime_connection() -> psycopg.Connection[Any]:
    params = connection.settings_dict
    return psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        dbname=params["NAME"],
        user=settings.DATABASE_APP_ROLE,
        autocommit=True,
    )


# chat_search as the selector calls it: one group of one term, "merger" or a part of it.
SEARCH_SQL = (
    "SELECT count(*) FROM chat_search(ARRAY[to_tsquery('simple', 'merger:*')], ARRAY[%s],"
    " ARRAY[1], NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, 100)"
)
INDEX_SQL = (
    "SELECT count(*) FROM chat_message_search WHERE search_vector @@ to_tsquery('simple', %s)"
)


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_finds_no_private_match_for_an_outsider(
    alice: Any, bob: Any, secrets: dict
) -> None:
    """As the role the application runs as: the search function and the index table."""
    with _runtime_connection() as raw:
        raw.execute("SELECT set_config('app.role', 'authenticated', false)")
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(bob.pk)])
        assert raw.execute(SEARCH_SQL, ["merg"]).fetchone() == (0,)
        assert raw.execute(INDEX_SQL, ["merger"]).fetchone() == (0,)
        assert raw.execute(INDEX_SQL, ["zebra"]).fetchone() == (1,)
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(alice.pk)])
        assert raw.execute(SEARCH_SQL, ["merg"]).fetchone() == (1,)
        assert raw.execute(INDEX_SQL, ["merger"]).fetchone() == (1,)
        raw.execute("SELECT set_config('app.role', '', false)")
        assert raw.execute(SEARCH_SQL, ["merg"]).fetchone() == (0,)
        # It may read the index (through the policy), never write it, and never read the
        # list of indexed words, which holds words of every channel.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("DELETE FROM chat_message_search")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("SELECT word FROM chat_search_word")


@pytest.mark.django_db(transaction=True)
def test_a_search_past_the_statement_timeout_is_503_not_a_hang(
    alice: Any, secrets: dict, settings: Any
) -> None:
    """A lock held elsewhere stands in for a slow query: the timeout counts the wait too."""
    settings.CHAT_SEARCH_TIMEOUT_MS = 200
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        dbname=params["NAME"],
        user=params["USER"],
        password=params.get("PASSWORD"),
    ) as locker:
        locker.execute("LOCK TABLE chat_message IN ACCESS EXCLUSIVE MODE")
        response = _client(alice).get(URL, {"q": "zebra"})
        locker.rollback()
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "unavailable"
    assert "took too long" in response.json()["error"]["detail"]
    assert int(response["Retry-After"]) >= 1
    assert len(_search(alice, "zebra")) == 2
