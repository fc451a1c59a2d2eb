"""GET /api/chat/search/: relevance on a fixed corpus, filters, headlines, paging, bad input."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import pytest

from chat import services
from chat.models import Message
from tests.contract.conftest import assert_error
from tests.factories import ChannelFactory, MembershipFactory

URL = "/api/chat/search/"
SEARCH_CANDIDATES = importlib.import_module("chat.migrations.0010_search_words").SEARCH_CANDIDATES

CORPUS = {
    "deploying": "Deploying the new release to production tonight",
    "deploy-failed": "deploy failed: see https://ci.example.com/builds/4521 for logs",
    "snake": "The function get_user_id returns None for guests",
    "camel": "In the JS client getUserId() is cached per tab",
    "lunch": "Lunch at noon? pizza or sushi",
    "k8s": "Kubernetes autoscaling is configured in infra/k8s/values.yaml",
    "german": "Wir treffen uns morgen um zehn Uhr im Büro",
    "french": "La réunion est reportée à jeudi après-midi",
    "checklist": "deploy deploy deploy: the checklist",
    "script": "<script>alert('x')</script> is not a greeting",
    "planning": "Meeting notes: the quarterly planning meeting moved to Friday",
    "weather": "unrelated chatter about the weather",
}


@pytest.fixture
def corpus(alice: Any, bob: Any, channel: Any, post: Any) -> dict[str, Any]:
    """The fixed corpus in #general: alice wrote all but the weather, which is bob's."""
    MembershipFactory.create(channel=channel, user=bob)
    return {
        key: post(bob if key == "weather" else alice, channel, text) for key, text in CORPUS.items()
    }


def _search(client: Any, q: str, **params: Any) -> Any:
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def _keys(client: Any, corpus: dict[str, Any], q: str, **params: Any) -> list[str]:
    by_id = {str(message.pk): key for key, message in corpus.items()}
    return [by_id[hit["message"]["id"]] for hit in _search(client, q, **params)["results"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Partial words: a word's beginning, its middle.
        ("deplo", {"deploying", "deploy-failed", "checklist"}),
        ("ploying", {"deploying"}),
        ("autoscal", {"k8s"}),
        # URLs and host names, whole or in part.
        ("ci.example.com", {"deploy-failed"}),
        ("example.com/builds", {"deploy-failed"}),
        ("builds/4521", {"deploy-failed"}),
        ("https://ci.example", {"deploy-failed"}),
        ("values.yaml", {"k8s"}),
        # Code identifiers, in either spelling.
        ("get_user_id", {"snake", "camel"}),
        ("getUserId", {"snake", "camel"}),
        # Punctuation around a word is not part of it.
        ("getuserid()", {"snake", "camel"}),
        # Several languages.
        ("morgen", {"german"}),
        ("büro", {"german"}),
        ("réunion", {"french"}),
        ("après-midi", {"french"}),
        # Phrases, OR, exclusion, AND.
        ('"planning meeting"', {"planning"}),
        ('"meeting planning"', set()),
        ("pizza OR weather", {"lunch", "weather"}),
        ("meeting -quarterly", set()),
        ("deploy production", {"deploying"}),
        ("nothing-like-this-anywhere", set()),
    ],
)
def test_search_finds_the_expected_messages(
    alice_api: Any, corpus: dict[str, Any], q: str, expected: set[str]
) -> None:
    assert set(_keys(alice_api, corpus, q)) == expected


@pytest.mark.django_db
def test_whole_words_rank_above_prefixes_and_short_messages_above_long(
    alice_api: Any, corpus: dict[str, Any]
) -> None:
    keys = _keys(alice_api, corpus, "deploy")
    assert keys[:2] == ["checklist", "deploy-failed"]
    assert keys[2:] == ["deploying"]


@pytest.mark.django_db
def test_equal_relevance_comes_newest_first(alice: Any, alice_api: Any, channel: Any, post: Any):
    older = post(alice, channel, "standup at ten")
    newer = post(alice, channel, "standup at ten")
    Message.objects.filter(pk=older.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    results = _search(alice_api, "standup")["results"]
    assert [hit["message"]["id"] for hit in results] == [str(newer.pk), str(older.pk)]


@pytest.mark.django_db
def test_filters_narrow_by_author_channel_link_and_date(
    alice: Any, bob: Any, alice_api: Any, corpus: dict[str, Any], post: Any
) -> None:
    assert _keys(alice_api, corpus, "from:bob") == ["weather"]
    assert _keys(alice_api, corpus, "from:@BOB weather") == ["weather"]
    assert _keys(alice_api, corpus, "from:alice weather") == []
    assert _keys(alice_api, corpus, "from:nobody-by-that-name") == []
    assert set(_keys(alice_api, corpus, "has:link")) == {"deploy-failed"}
    assert _keys(alice_api, corpus, "in:#general pizza") == ["lunch"]
    assert _keys(alice_api, corpus, "in:no-such-channel pizza") == []
    Message.objects.filter(pk=corpus["lunch"].pk).update(
        created_at=datetime(2026, 3, 10, 12, tzinfo=UTC)
    )
    assert _keys(alice_api, corpus, "pizza before:2026-03-11") == ["lunch"]
    assert _keys(alice_api, corpus, "pizza before:2026-03-10") == []
    assert _keys(alice_api, corpus, "pizza after:2026-03-09") == ["lunch"]
    assert _keys(alice_api, corpus, "pizza after:2026-03-10") == []


@pytest.mark.django_db
def test_channel_id_limits_the_search_to_one_channel(
    alice: Any, alice_api: Any, channel: Any, post: Any
) -> None:
    other = ChannelFactory.create(name="random")
    MembershipFactory.create(channel=other, user=alice)
    post(alice, channel, "kickoff in general")
    elsewhere = post(alice, other, "kickoff in random")
    results = _search(alice_api, "kickoff", channel_id=str(other.pk))["results"]
    assert [hit["message"]["id"] for hit in results] == [str(elsewhere.pk)]
    assert results[0]["channel"] == {"id": str(other.pk), "name": "random"}


@pytest.mark.django_db
def test_headline_is_escaped_html_with_marks_around_the_hits(
    alice_api: Any, corpus: dict[str, Any]
) -> None:
    [hit] = _search(alice_api, "script")["results"]
    assert hit["headline"] == (
        "&lt;<mark>script</mark>&gt;alert(&#x27;x&#x27;)&lt;/<mark>script</mark>&gt;"
        " is not a greeting"
    )
    assert hit["message"]["content"] == CORPUS["script"]
    [camel, snake] = sorted(
        (hit["headline"] for hit in _search(alice_api, "getUserId")["results"]), key=len
    )
    assert "<mark>get_user_id</mark>" in snake
    assert "<mark>getUserId</mark>()" in camel


@pytest.mark.django_db
def test_long_messages_get_a_headline_cut_around_the_first_hit(
    alice: Any, alice_api: Any, channel: Any, post: Any
) -> None:
    post(alice, channel, "filler " * 200 + "the needle is here " + "padding " * 200)
    [hit] = _search(alice_api, "needle")["results"]
    assert hit["headline"].startswith("…") and hit["headline"].endswith("…")
    assert "the <mark>needle</mark> is here" in hit["headline"]
    assert len(hit["headline"]) < 400


@pytest.mark.django_db
def test_edits_are_found_at_once_and_tombstones_never(
    alice: Any, alice_api: Any, corpus: dict[str, Any]
) -> None:
    services.message_edit(user=alice, message_id=corpus["lunch"].pk, content="Lunch: ramen")
    assert _keys(alice_api, corpus, "pizza") == []
    assert _keys(alice_api, corpus, "ramen") == ["lunch"]
    assert _keys(alice_api, corpus, "checklist") == ["checklist"]
    services.message_delete(user=alice, message_id=corpus["checklist"].pk)
    assert _keys(alice_api, corpus, "checklist") == []


@pytest.mark.django_db
def test_parts_of_words_from_edits_are_found_and_old_words_match_nothing(
    alice: Any, alice_api: Any, corpus: dict[str, Any]
) -> None:
    """A part of a word is looked up in the list of indexed words: an edit adds its words at
    once, and a word whose messages are gone stays listed but finds nothing."""
    services.message_edit(user=alice, message_id=corpus["lunch"].pk, content="okonomiyaki")
    assert _keys(alice_api, corpus, "nomiya") == ["lunch"]
    assert _keys(alice_api, corpus, "izz") == []
    services.message_delete(user=alice, message_id=corpus["lunch"].pk)
    assert _keys(alice_api, corpus, "nomiya") == []


@pytest.mark.django_db
def test_matches_in_old_weeks_are_found_when_the_newest_weeks_have_few(
    alice: Any, alice_api: Any, channel: Any, post: Any
) -> None:
    """A search reads the newest weeks first and older ones while it has found too few: a
    match from years ago still comes, after the recent ones, and before: reaches it too."""
    recent = post(alice, channel, "archaeology notes")
    months = post(alice, channel, "archaeology of the old build")
    years = post(alice, channel, "archaeology, the first time")
    Message.objects.filter(pk=months.pk).update(created_at=datetime(2026, 5, 1, tzinfo=UTC))
    Message.objects.filter(pk=years.pk).update(created_at=datetime(2019, 5, 1, tzinfo=UTC))
    ids = [hit["message"]["id"] for hit in _search(alice_api, "archaeology")["results"]]
    assert set(ids) == {str(recent.pk), str(months.pk), str(years.pk)}
    ids = [hit["message"]["id"] for hit in _search(alice_api, "chaeolog")["results"]]
    assert set(ids) == {str(recent.pk), str(months.pk), str(years.pk)}
    before = _search(alice_api, "archaeology before:2020-01-01")["results"]
    assert [hit["message"]["id"] for hit in before] == [str(years.pk)]


@pytest.mark.django_db
def test_relevance_ranks_the_newest_candidates_when_a_word_is_everywhere(
    alice: Any, alice_api: Any, channel: Any, post: Any
) -> None:
    """More matches than the search ranks: it ranks the newest of them, so an old message
    that would rank first is not among them, and a new one is."""
    old = post(alice, channel, "sprint")
    Message.objects.filter(pk=old.pk).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    for n in range(SEARCH_CANDIDATES):
        post(alice, channel, f"sprint review item number {n} with a long tail of words")
    best = post(alice, channel, "sprint")
    ids = [hit["message"]["id"] for hit in _search(alice_api, "sprint", limit=5)["results"]]
    assert ids[0] == str(best.pk)
    assert str(old.pk) not in ids


@pytest.mark.django_db
def test_cursor_pages_through_every_hit_once(alice: Any, alice_api: Any, channel: Any, post: Any):
    posted = {
        str(post(alice, channel, f"retro item {n} " + "retro " * (n % 3)).pk) for n in range(7)
    }
    seen: list[str] = []
    page = _search(alice_api, "retro", limit=3)
    while True:
        seen += [hit["message"]["id"] for hit in page["results"]]
        if page["next"] is None:
            break
        page = _search(alice_api, "retro", limit=3, cursor=page["next"])
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == posted


@pytest.mark.django_db
def test_a_cursor_from_another_query_is_400(alice: Any, alice_api: Any, channel: Any, post: Any):
    for n in range(3):
        post(alice, channel, f"release {n}")
    cursor = _search(alice_api, "release", limit=1)["next"]
    assert cursor
    assert_error(
        alice_api.get(URL, {"q": "other", "cursor": cursor}), 400, "validation_error", "cursor"
    )
    assert _search(alice_api, "  release ", limit=1, cursor=cursor)["results"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": '"" - OR !!! ---'}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": " ".join(f"w{n}" for n in range(17))}, "q"),
        ({"q": "before:2026-13-45 x"}, "q"),
        ({"q": "after:yesterday"}, "q"),
        ({"q": "has:attachment"}, "q"),
        ({"q": "x", "cursor": "not a cursor"}, "cursor"),
        ({"q": "x", "cursor": "W10"}, "cursor"),
        ({"q": "x", "cursor": "WyJhIiwgMSwgIm5vIGRhdGUiLCAiMSJd"}, "cursor"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "101"}, "limit"),
        ({"q": "x", "channel_id": "nope"}, "channel_id"),
    ],
)
def test_bad_search_input_is_400_with_the_field(
    alice_api: Any, channel: Any, params: dict[str, str], field: str
) -> None:
    assert_error(alice_api.get(URL, params), 400, "validation_error", field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced quote',
        "OR OR OR",
        "-",
        "the",
        "a",
        "from: in: has: before:",
        "(" * 200 + "x" + ")" * 200,
        ":*&|!<->'\\\"" * 40,
        "%_%",
        "-x",
        '-"some phrase"',
    ],
)
def test_odd_queries_answer_200_never_500(alice_api: Any, corpus: dict[str, Any], q: str) -> None:
    response = alice_api.get(URL, {"q": q})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error(response, 400, "validation_error", "q")


@pytest.mark.django_db
def test_only_filters_lists_newest_first(alice_api: Any, corpus: dict[str, Any]) -> None:
    keys = _keys(alice_api, corpus, "from:alice")
    assert keys[0] == "planning" and "weather" not in keys and len(keys) == len(CORPUS) - 1


@pytest.mark.django_db
def test_search_a_channel_one_cannot_see_is_404(bob_api: Any, private_channel: Any) -> None:
    assert_error(
        bob_api.get(URL, {"q": "x", "channel_id": str(private_channel.pk)}), 404, "not_found"
    )


@pytest.mark.django_db
def test_search_needs_authentication(anon: Any) -> None:
    assert anon.get(URL, {"q": "x"}).status_code == 401


@pytest.mark.django_db
def test_searches_are_rate_limited_per_user(alice_api: Any, channel: Any, settings: Any) -> None:
    settings.CHAT_SEARCH_RATE = "2/min"
    assert alice_api.get(URL, {"q": "x"}).status_code == 200
    assert alice_api.get(URL, {"q": "x"}).status_code == 200
    response = alice_api.get(URL, {"q": "x"})
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
