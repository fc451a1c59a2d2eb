"""The search box's language: words, "phrases", OR, -word and filters (docs/api.md "Search").

``parse`` turns what a person typed into a ``SearchQuery``: an AND of groups, each group an OR
of terms, plus the filters ``from:``, ``in:``, ``has:link``, ``before:`` and ``after:``. It
never fails on odd input (an unbalanced quote ends at the end of the text, a stray ``OR`` or
``-`` is ignored, ``key:value`` with an unknown key is a word like any other, which keeps URLs
searchable); it fails with a message for the ``q`` field only where a guess would mislead:
a malformed date, an unknown ``has:``, or a query longer than the limits below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

MAX_QUERY_LENGTH = 500
MAX_TERMS = 16

# A term must hold a letter or a digit to be searched for; "!!!" or "--" say nothing.
_SEARCHABLE = re.compile(r"\w")
_FILTER = re.compile(r"^(from|in|has|before|after):(.*)$", re.IGNORECASE | re.DOTALL)
_TOKEN = re.compile(r'\s*(-?)"([^"]*)(?:"|$)|\s*(\S+)')


class SearchSyntaxError(ValueError):
    """The query cannot mean anything sensible; the message says why."""


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False


@dataclass
class SearchQuery:
    # Every group must match (AND); a group matches when any of its terms does (OR).
    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    from_users: list[str] = field(default_factory=list)
    in_channels: list[str] = field(default_factory=list)
    has_link: bool = False
    before: date | None = None
    after: date | None = None

    @property
    def terms(self) -> list[Term]:
        return [term for group in self.groups for term in group]

    @property
    def has_filters(self) -> bool:
        return bool(
            self.from_users or self.in_channels or self.has_link or self.before or self.after
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to look for: no term and no filter (exclusions alone select everything)."""
        return not self.groups and not self.has_filters


def _date(value: str, key: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchSyntaxError(f"{key}: takes a date as YYYY-MM-DD.") from None


def _apply_filter(query: SearchQuery, key: str, value: str) -> None:
    key = key.lower()
    value = value.strip()
    if key == "from":
        query.from_users.append(value.removeprefix("@"))
    elif key == "in":
        query.in_channels.append(value.removeprefix("#").lower())
    elif key == "has":
        if value.lower() != "link":
            raise SearchSyntaxError("has: takes only link (has:link).")
        query.has_link = True
    elif key == "before":
        query.before = _date(value, key)
    else:
        query.after = _date(value, key)


def parse(text: str) -> SearchQuery:
    """The query that ``text`` asks for (see the module's docstring)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchSyntaxError(f"Use at most {MAX_QUERY_LENGTH} characters.")
    query = SearchQuery()
    join_next = False
    for match in _TOKEN.finditer(text):
        quoted_negation, quoted, word = match.groups()
        if word is not None:
            if word == "OR":
                join_next = bool(query.groups)
                continue
            negated = word.startswith("-") and len(word) > 1
            word = word[1:] if negated else word
            found = _FILTER.match(word)
            if found and found.group(2) and not negated:
                _apply_filter(query, found.group(1), found.group(2))
                join_next = False
                continue
            term = Term(word)
        else:
            negated = quoted_negation == "-"
            phrase = " ".join(quoted.split())
            term = Term(phrase, phrase=" " in phrase)
        if not _SEARCHABLE.search(term.text):
            continue
        if negated:
            query.excluded.append(term)
        elif join_next:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
        join_next = False
    if len(query.terms) + len(query.excluded) > MAX_TERMS:
        raise SearchSyntaxError(f"Use at most {MAX_TERMS} words or phrases.")
    return query


def normalized(query: SearchQuery) -> str:
    """A canonical text of ``query``: two texts that mean the same search give the same one
    (cursors are tied to it)."""
    parts = [" OR ".join(repr(term.text) for term in group) for group in query.groups]
    parts += [f"-{term.text!r}" for term in query.excluded]
    parts += [f"from:{name}" for name in query.from_users]
    parts += [f"in:{name}" for name in query.in_channels]
    parts += ["has:link"] if query.has_link else []
    parts += [f"before:{query.before}"] if query.before else []
    parts += [f"after:{query.after}"] if query.after else []
    return " ".join(parts)
