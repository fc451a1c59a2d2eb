"""Searching messages: what a user may read that matches a query, best first (docs/search.md).

On PostgreSQL a term matches a message when the message's words (the generated
``search_vector``, ``simple`` configuration) hold it as a word, a word's beginning or a phrase,
or when the folded content (``chat_search_fold``: lower case, no ``_`` or ``-``) holds it as a
substring, which the trigram index answers: parts of words, URLs and code identifiers. Results
come by relevance (``ts_rank`` of the word matches; substring-only hits rank 0), then newest
first. On SQLite a term is a case-insensitive substring, newest first.

Visibility is the history's: messages of ``channels_visible_to`` (public channels and the
user's own private ones; every channel for moderators), never tombstones; row-level security
applies the same rule again in PostgreSQL. The query runs under a statement timeout, so no
search can hold a connection for long.
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
from django.db.models import BooleanField, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from psycopg import errors as pg_errors

from accounts.models import User
from chat.exceptions import RateLimited, Unavailable, ValidationError
from chat.models import Message
from chat.search_syntax import SearchQuery, SearchSyntaxError, Term, normalized, parse
from chat.selectors.channels import channel_get, channels_visible_to
from chatsite import ratelimit

DEFAULT_SEARCH_PAGE_SIZE = 20
MAX_SEARCH_PAGE_SIZE = 100
# Substring (trigram) matching needs a trigram: shorter terms match as words only.
MIN_SUBSTRING_LENGTH = 3
HEADLINE_LENGTH = 300

_CONFIG = "'simple'::regconfig"
_VECTOR = '"chat_message"."search_vector"'
_FOLDED = 'chat_search_fold("chat_message"."content")'
_WORD = re.compile(r"\w+")


@dataclass
class SearchHit:
    message: Message
    headline: str


def _fold(text: str) -> str:
    """``chat_search_fold`` in Python (for the substring pattern and the headline)."""
    return text.lower().replace("_", "").replace("-", "")


def _like_pattern(text: str) -> str:
    folded = _fold(text).replace("\\", "\\\\").replace("%", "\\%")
    return f"%{folded}%"


# --- PostgreSQL: full-text and trigram conditions -------------------------------------------


def _word_query(term: Term) -> tuple[str, list[Any]]:
    """The tsquery of a term: a word also as a prefix (``deplo`` finds ``deployment``), any
    other term as the phrase of its words."""
    if not term.phrase and _WORD.fullmatch(term.text):
        return f"to_tsquery({_CONFIG}, %s)", [f"'{term.text}':*"]
    return f"phraseto_tsquery({_CONFIG}, %s)", [term.text]


def _term_condition(term: Term) -> tuple[str, list[Any]]:
    sql, params = _word_query(term)
    condition, condition_params = f"{_VECTOR} @@ {sql}", list(params)
    if len(_fold(term.text)) >= MIN_SUBSTRING_LENGTH:
        condition += f" OR {_FOLDED} LIKE %s"
        condition_params.append(_like_pattern(term.text))
    return f"({condition})", condition_params


def _rank(terms: list[Term]) -> RawSQL:
    if not terms:
        return RawSQL("0.0", [], output_field=FloatField())
    exact = " || ".join(f"phraseto_tsquery({_CONFIG}, %s)" for _ in terms)
    words = [_word_query(term) for term in terms]
    prefix = " || ".join(sql for sql, _ in words)
    # Whole words count twice: "deploy" ranks messages saying "deploy" above "deployment".
    # Normalisation 1 divides by the log of the length: a short message on the subject wins.
    sql = (
        f"round((2 * ts_rank({_VECTOR}, {exact}, 1) + ts_rank({_VECTOR}, {prefix}, 1))"
        "::numeric, 6)::float8"
    )
    params = [term.text for term in terms] + [p for _, params in words for p in params]
    return RawSQL(sql, params, output_field=FloatField())


def _matching_postgresql(messages: QuerySet[Message], query: SearchQuery) -> QuerySet[Message]:
    for group in query.groups:
        parts = [_term_condition(term) for term in group]
        sql = " OR ".join(part for part, _ in parts)
        params = [p for _, part_params in parts for p in part_params]
        messages = messages.filter(RawSQL(f"({sql})", params, output_field=BooleanField()))
    for term in query.excluded:
        messages = messages.exclude(
            RawSQL(
                f"{_VECTOR} @@ phraseto_tsquery({_CONFIG}, %s)",
                [term.text],
                output_field=BooleanField(),
            )
        )
    return messages.annotate(rank=_rank(query.terms))


def _matching_substring(messages: QuerySet[Message], query: SearchQuery) -> QuerySet[Message]:
    """SQLite: every group has a term in the content; no excluded term is."""
    for group in query.groups:
        either = Q()
        for term in group:
            either |= Q(content__icontains=term.text)
        messages = messages.filter(either)
    for term in query.excluded:
        messages = messages.exclude(content__icontains=term.text)
    return messages.annotate(rank=Value(0.0, output_field=FloatField()))


# --- Filters, cursors, headlines ------------------------------------------------------------


def _filtered(messages: QuerySet[Message], query: SearchQuery) -> QuerySet[Message]:
    if query.from_users:
        authors = Q()
        for username in query.from_users:
            authors |= Q(user__username__iexact=username)
        messages = messages.filter(authors)
    if query.in_channels:
        messages = messages.filter(channel__name__in=query.in_channels)
    if query.has_link:
        messages = messages.filter(
            Q(content__icontains="http://") | Q(content__icontains="https://")
        )
    if query.before:
        messages = messages.filter(created_at__lt=datetime.combine(query.before, time(), UTC))
    if query.after:
        day_after = query.after + timedelta(days=1)
        messages = messages.filter(created_at__gte=datetime.combine(day_after, time(), UTC))
    return messages


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


def _after_position(messages: QuerySet[Message], position: tuple[float, datetime, uuid.UUID]):
    rank, created_at, message_id = position
    return messages.filter(
        Q(rank__lt=rank)
        | Q(rank=rank, created_at__lt=created_at)
        | Q(rank=rank, created_at=created_at, pk__lt=message_id)
    )


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


def _rows(messages: QuerySet[Message], count: int) -> list[Message]:
    if connection.vendor != "postgresql":
        return list(messages[:count])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                [str(settings.CHAT_SEARCH_TIMEOUT_MS)],
            )
            return list(messages[:count])
    except OperationalError as error:
        if isinstance(error.__cause__, pg_errors.QueryCanceled):
            raise Unavailable(
                "The search took too long; try fewer or longer words.", retry_after=1
            ) from None
        raise


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
    visible = channels_visible_to(user)
    if channel_id is not None:
        visible = visible.filter(pk=channel_get(user=user, channel_id=channel_id).pk)
    messages = Message.objects.filter(
        channel__in=visible.values("pk"), deleted_at__isnull=True
    ).select_related("user", "channel")
    if connection.vendor == "postgresql":
        messages = _matching_postgresql(messages, query)
    else:
        messages = _matching_substring(messages, query)
    messages = _filtered(messages, query).order_by("-rank", "-created_at", "-pk")
    if position is not None:
        messages = _after_position(messages, position)
    rows = _rows(messages, limit + 1)
    terms = query.terms
    hits = [SearchHit(message, headline(message.content, terms)) for message in rows[:limit]]
    next_cursor = _encode_cursor(key, rows[limit - 1]) if len(rows) > limit else None
    return hits, next_cursor
