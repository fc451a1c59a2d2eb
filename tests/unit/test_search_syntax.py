"""The search box's language (chat/search_syntax.py) and the headline (chat.selectors.search)."""

from __future__ import annotations

from datetime import date

import pytest

from chat.search_syntax import MAX_QUERY_LENGTH, SearchSyntaxError, Term, normalized, parse
from chat.selectors.search import headline


def test_words_are_anded_groups_of_one() -> None:
    assert parse("deploy  failed").groups == [[Term("deploy")], [Term("failed")]]


def test_quotes_make_a_phrase_and_an_unbalanced_quote_ends_at_the_end() -> None:
    assert parse('"planning   meeting" x').groups == [
        [Term("planning meeting", phrase=True)],
        [Term("x")],
    ]
    assert parse('say "no more').groups == [[Term("say")], [Term("no more", phrase=True)]]
    assert parse('"one"').groups == [[Term("one")]]


def test_or_joins_its_neighbours_and_a_stray_or_is_ignored() -> None:
    assert parse("pizza OR sushi OR ramen lunch").groups == [
        [Term("pizza"), Term("sushi"), Term("ramen")],
        [Term("lunch")],
    ]
    assert parse("OR pizza OR").groups == [[Term("pizza")]]
    assert parse("pizza or sushi").groups == [[Term("pizza")], [Term("or")], [Term("sushi")]]


def test_minus_excludes_a_word_or_a_phrase() -> None:
    query = parse('meeting -quarterly -"all hands" -')
    assert query.groups == [[Term("meeting")]]
    assert query.excluded == [Term("quarterly"), Term("all hands", phrase=True)]


def test_filters() -> None:
    query = parse("from:@Bob in:#Ops has:LINK before:2026-03-01 after:2026-01-31 deploy")
    assert query.from_users == ["Bob"]
    assert query.in_channels == ["ops"]
    assert query.has_link
    assert query.before == date(2026, 3, 1)
    assert query.after == date(2026, 1, 31)
    assert query.groups == [[Term("deploy")]]


def test_urls_and_unknown_keys_are_words() -> None:
    assert parse("https://ci.example.com/x foo:bar").groups == [
        [Term("https://ci.example.com/x")],
        [Term("foo:bar")],
    ]


def test_an_empty_filter_value_is_a_word_and_nothing_searchable_is_dropped() -> None:
    assert parse("from:").groups == [[Term("from:")]]
    assert parse("!!! --- '' \"\"").is_empty
    assert parse("-word").is_empty
    assert not parse("from:bob").is_empty


@pytest.mark.parametrize(
    "text",
    [
        "before:yesterday",
        "after:2026-02-30",
        "has:file",
        "x" * (MAX_QUERY_LENGTH + 1),
        " ".join(f"w{n}" for n in range(17)),
    ],
)
def test_malformed_queries_raise_with_a_reason(text: str) -> None:
    with pytest.raises(SearchSyntaxError):
        parse(text)


def test_normalized_ignores_spacing_but_not_meaning() -> None:
    assert normalized(parse("  deploy   failed ")) == normalized(parse("deploy failed"))
    assert normalized(parse("deploy failed")) != normalized(parse("deploy OR failed"))
    assert normalized(parse("a from:bob")) != normalized(parse("a from:carol"))


def test_headline_escapes_and_marks_across_identifier_spellings() -> None:
    text = "Call get_user_id() & <b>getUserId</b>"
    assert headline(text, [Term("getUserId")]) == (
        "Call <mark>get_user_id</mark>() &amp; &lt;b&gt;<mark>getUserId</mark>&lt;/b&gt;"
    )
    assert headline(text, []) == "Call get_user_id() &amp; &lt;b&gt;getUserId&lt;/b&gt;"
    assert headline("a  b", [Term("a b", phrase=True)]) == "<mark>a  b</mark>"
