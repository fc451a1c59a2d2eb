"""Searching messages: what a user may read that matches a query, best first (docs/search.md).

On PostgreSQL the database function ``chat_search`` (chat migration 0006) searches the index
table ``chat_message_search``: a term matches a message when its words (``search_vector``,
``simple`` configuration) hold it as a word, a word's beginning or a phrase, or when its
folded content (``chat_search_fold``: lower case, no ``_`` or ``-``) holds it as a substring,
which the trigram index answers: parts of words, URLs and code identifiers. Results come by
relevance (``ts_rank`` of the word matches; substring-only hits rank 0), then newest first.
The messages found are then read from chat_message like any other read, under the
application's visibility rule and the row-level security policies. On SQLite a term is a
case-insensitive substring, newest first.

Visibility is the history's: messages of ``channels_visible_to`` (public channels and the
user's own private ones; every channel for moderators, but a direct message only for its
members), never tombstones. Everything runs under a statement timeout, so no search can hold
a connection for long.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils.html import escape
from psycopg import errors as pg_errors

from accounts.models import User
from chat.exceptions import RateLimited, Unavailable, ValidationError
from chat.models import Channel, Message
from chat.search_syntax import SearchQuery, SearchSyntaxError, Term, normalized, parse
from chat.selectors.channels import channel_get, channels_visible_to
from chatsite import ratelimit

DEFAULT_SEARCH_PAGE_SIZE = 20
MAX_SEARCH_PAGE_SIZE = 100
# Substring (trigram) matching needs a trigram: shorter terms match as words only.
MIN_SUBSTRING_LENGTH = 3
HEADLINE_LENGTH = 300

_CONFIG = "'simple'::regconfig"
_WORD = re.compile(r"\w+")
# The index holds a URL's words without its scheme (``https://``), so a term drops it too.
_SCHEME = re.compile(r"^[a-z][a-z0-9+.]*://")
_BRACKETS = str.maketrans("<>", "  ")


@dataclass
class SearchHit:
    message: Message
    headline: str


def _fold(text: str) -> str:
    """``chat_search_fold`` in Python (for the substring pattern and the headline)."""
    return text.lower().replace("_", "").replace("-", "")


# --- PostgreSQL: chat_search over the search index ----------------------------------------


def _word_query(term: Term) -> tuple[str, list[Any]]:
    """The tsquery of a term: a quoted phrase as the phrase of its words; anything else in its
    folded form, which the index holds as one word (``get_user_id`` as ``getuserid``): as a
    word's beginning when it is one word (``deplo`` finds ``deployment``), else as the phrase
    of its pieces (``ci.example.com/builds``)."""
    if term.phrase:
        return f"phraseto_tsquery({_CONFIG}, %s)", [term.text]
    folded = _searchable(term.text)
    if _WORD.fullmatch(folded):
        return f"to_tsquery({_CONFIG}, %s)", [f"'{folded}':*"]
    return f"phraseto_tsquery({_CONFIG}, %s)", [folded]


def _tsquery_array(parts: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    sql = ", ".join(part for part, _ in parts)
    return f"ARRAY[{sql}]::tsquery[]", [p for _, params in parts for p in params]


def _tsquery_any(parts: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """The OR of ``parts`` (NULL for none)."""
    if not parts:
        return "NULL::tsquery", []
    return "(" + " || ".join(part for part, _ in parts) + ")", [
        p for _, params in parts for p in params
    ]


def _phrase(term: Term) -> tuple[str, list[Any]]:
    return f"phraseto_tsquery({_CONFIG}, %s)", [
        term.text if term.phrase else _searchable(term.text)
    ]


def _searchable(text: str) -> str:
    """A term as the index holds its words: folded, without a URL scheme, angle brackets
    read as spaces."""
    return _SCHEME.sub("", " ".join(_fold(text).translate(_BRACKETS).split()))


def _part(term: Term) -> str | None:
    """The folded text to look for inside words, for a term of one word-like piece."""
    folded = _searchable(term.text)
    if len(folded) < MIN_SUBSTRING_LENGTH or any(char.isspace() for char in folded):
        return None
    return folded


_SEARCH_SQL = (
    "SELECT message_id, rank, created_at FROM chat_search({queries}, %s::text[],"
    " %s::integer[], {excluded}, {exact}, {prefix}, %s::bigint[], %s::uuid[], %s,"
    " %s::timestamptz, %s::timestamptz, %s::float8, %s::timestamptz, %s::uuid, %s)"
)


def _search_postgresql(
    query: SearchQuery,
    *,
    author_ids: list[Any] | None,
    channel_ids: list[Any] | None,
    position: tuple[float, datetime, uuid.UUID] | None,
    count: int,
) -> list[tuple[uuid.UUID, float, datetime]]:
    """(id, rank, created_at) of the best ``count`` matches after ``position``."""
    terms = [(number, term) for number, group in enumerate(query.groups, 1) for term in group]
    queries, query_params = _tsquery_array([_word_query(term) for _, term in terms])
    excluded, excluded_params = _tsquery_any([_phrase(term) for term in query.excluded])
    exact, exact_params = _tsquery_any([_phrase(term) for _, term in terms])
    prefix, prefix_params = _tsquery_any([_word_query(term) for _, term in terms])
    created_from, created_before = _date_range(query)
    rank, created_at, message_id = position or (None, None, None)
    params = [
        *query_params,
        [_part(term) for _, term in terms],
        [number for number, _ in terms],
        *excluded_params,
        *exact_params,
        *prefix_params,
        author_ids,
        channel_ids,
        query.has_link,
        created_from,
        created_before,
        rank,
        created_at,
        message_id,
        count,
    ]
    sql = _SEARCH_SQL.format(queries=queries, excluded=excluded, exact=exact, prefix=prefix)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _date_range(query: SearchQuery) -> tuple[datetime | None, datetime | None]:
    """``after:`` a day means from the next day on; ``before:`` it, up to its start (UTC)."""
    created_from = created_before = None
    if query.after:
        created_from = datetime.combine(query.after + timedelta(days=1), time(), UTC)
    if query.before:
        created_before = datetime.combine(query.before, time(), UTC)
    return created_from, created_before


# --- SQLite: substrings ---------------------------------------------------------------------


def _search_substring(
    messages: QuerySet[Message],
    query: SearchQuery,
    *,
    position: tuple[float, datetime, uuid.UUID] | None,
    count: int,
) -> list[Message]:
    """Every group has a term in the content and no excluded term is; newest first."""
    for group in query.groups:
        either = Q()
        for term in group:
            either |= Q(content__icontains=term.text)
        messages = messages.filter(either)
    for term in query.excluded:
        messages = messages.exclude(content__icontains=term.text)
    if query.has_link:
        messages = messages.filter(
            Q(content__icontains="http://") | Q(content__icontains="https://")
        )
    created_from, created_before = _date_range(query)
    if created_from:
        messages = messages.filter(created_at__gte=created_from)
    if created_before:
        messages = messages.filter(created_at__lt=created_before)
    if position is not None:
        _, created_at, message_id = position
        messages = messages.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=message_id)
        )
    rows = list(messages.order_by("-created_at", "-pk")[:count])
    for message in rows:
        message.rank = 0.0  # type: ignore[attr-defined]
    return rows


# --- Filters, cursors, headlines ------------------------------------------------------------


def _query_key(query: SearchQuery, channel_id: Any) -> str:
    text = f"{normalized(query)}|{channel_id or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_cursor(key: str, message: Any) -> str:
    data = [key, message.rank, message.created_at.isoformat(), str(message.pk)]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _bad_cursor(detail: str = "Invalid cursor.") -> ValidationError:
    return ValidationError(detail, fields={"cursor": [detail]})


def _decode_cursor(cursor: str, key: str) -> tuple[float, datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        cursor_key, rank, created_at, message_id = data
        position = (float(rank), datetime.fromisoformat(created_at), uuid.UUID(message_id))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise _bad_cursor() from None
    if cursor_key != key:
        raise _bad_cursor("This cursor belongs to another search.")
    if position[1].tzinfo is None:
        raise _bad_cursor()
    return position


def _hit_pattern(terms: list[Term]) -> re.Pattern[str] | None:
    """Where the terms occur in a message's text: case-insensitive, and across ``_`` and ``-``
    the way the folded content matches (``getUserId`` marks ``get_user_id``)."""
    alternatives = []
    for term in terms:
        folded = _fold(" ".join(term.text.split()))
        if folded:
            parts = (r"\s+" if char == " " else re.escape(char) for char in folded)
            alternatives.append(r"[_\-]*".join(parts))
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def headline(content: str, terms: list[Term], *, length: int = HEADLINE_LENGTH) -> str:
    """``content`` as HTML-escaped text with ``<mark>`` around each hit of ``terms``, cut to
    about ``length`` characters around the first hit."""
    pattern = _hit_pattern(terms)
    spans = [match.span() for match in pattern.finditer(content)] if pattern else []
    start = 0
    if len(content) > length and spans:
        start = max(0, min(spans[0][0] - length // 3, len(content) - length))
    end = min(len(content), start + length)
    pieces = ["…"] if start > 0 else []
    position = start
    for hit_start, hit_end in spans:
        hit_start, hit_end = max(hit_start, position), min(hit_end, end)
        if hit_start >= hit_end:
            continue
        pieces += [escape(content[position:hit_start]), "<mark>"]
        pieces += [escape(content[hit_start:hit_end]), "</mark>"]
        position = hit_end
    pieces.append(escape(content[position:end]))
    if end < len(content):
        pieces.append("…")
    return "".join(pieces)


# --- The search -----------------------------------------------------------------------------


def _parsed(text: str) -> SearchQuery:
    try:
        query = parse(text)
    except SearchSyntaxError as error:
        raise ValidationError(str(error), fields={"q": [str(error)]}) from None
    if query.is_empty:
        detail = "Give a word, a phrase or a filter to search for."
        raise ValidationError(detail, fields={"q": [detail]})
    return query


def _with_timeout(search: Any) -> Any:
    """Run ``search()`` under the search statement timeout; past it, Unavailable (503)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                [str(settings.CHAT_SEARCH_TIMEOUT_MS)],
            )
            return search()
    except OperationalError as error:
        if isinstance(error.__cause__, pg_errors.QueryCanceled):
            raise Unavailable(
                "The search took too long; try fewer or longer words.", retry_after=1
            ) from None
        raise


def _scope(
    user: User, query: SearchQuery, channel_id: Any
) -> tuple[QuerySet[Channel], list[Any] | None, list[Any] | None]:
    """The channels to search and the ``from:`` / ``in:`` / ``channel_id`` filters as ids
    (None: no such filter; an empty list: a filter that nobody or nothing matches)."""
    visible = channels_visible_to(user)
    channel_ids = None
    if channel_id is not None:
        visible = visible.filter(pk=channel_get(user=user, channel_id=channel_id).pk)
        channel_ids = list(visible.values_list("pk", flat=True))
    if query.in_channels:
        named = visible.filter(name__in=query.in_channels)
        channel_ids = list(named.values_list("pk", flat=True))
    author_ids = None
    if query.from_users:
        authors = Q()
        for username in query.from_users:
            authors |= Q(username__iexact=username)
        author_ids = list(User.objects.filter(authors).values_list("pk", flat=True))
    return visible, author_ids, channel_ids


def message_search(
    *,
    user: User,
    q: str,
    channel_id: Any = None,
    limit: int = DEFAULT_SEARCH_PAGE_SIZE,
    cursor: str | None = None,
) -> tuple[list[SearchHit], str | None]:
    """A page of the messages matching ``q`` that ``user`` may read, best first, and the
    cursor of the next page (None on the last)."""
    wait = ratelimit.hit(ratelimit.SEARCH, str(user.pk))
    if wait is not None:
        raise RateLimited(f"Too many searches; try again in {wait} s.", retry_after=wait)
    query = _parsed(q)
    key = _query_key(query, channel_id)
    position = _decode_cursor(cursor, key) if cursor else None
    visible, author_ids, channel_ids = _scope(user, query, channel_id)
    messages = Message.objects.filter(
        channel__in=visible.values("pk"), deleted_at__isnull=True
    ).select_related("user", "channel")
    if author_ids == [] or channel_ids == []:
        rows: list[Message] = []
    elif connection.vendor == "postgresql":
        rows = _with_timeout(
            lambda: _found_messages(
                visible,
                _search_postgresql(
                    query,
                    author_ids=author_ids,
                    channel_ids=channel_ids,
                    position=position,
                    count=limit + 1,
                ),
            )
        )
    else:
        if author_ids is not None:
            messages = messages.filter(user_id__in=author_ids)
        if channel_ids is not None:
            messages = messages.filter(channel_id__in=channel_ids)
        rows = _search_substring(messages, query, position=position, count=limit + 1)
    terms = query.terms
    hits = [SearchHit(message, headline(message.content, terms)) for message in rows[:limit]]
    next_cursor = _encode_cursor(key, rows[limit - 1]) if len(rows) > limit else None
    return hits, next_cursor


def _found_messages(
    visible: QuerySet[Channel], found: list[tuple[uuid.UUID, float, datetime]]
) -> list[Message]:
    """The live messages of ``found`` in its order, with their rank, read again under the
    row-level security policies and kept only where the channel is in ``visible``."""
    by_id = (
        Message.objects.filter(deleted_at__isnull=True)
        .select_related("user", "channel")
        .in_bulk([message_id for message_id, _, _ in found])
    )
    channel_ids = {message.channel_id for message in by_id.values()}
    shown = set(visible.filter(pk__in=channel_ids).values_list("pk", flat=True))
    rows = []
    for message_id, rank, _ in found:
        message = by_id.get(message_id)
        if message is not None and message.channel_id in shown:
            message.rank = rank  # type: ignore[attr-defined]
            rows.append(message)
    return rows
