"""A JSON parser that refuses what PostgreSQL cannot store and what Python cannot walk.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); Python decodes it into a string that
cannot be encoded as UTF-8, and the database driver would fail on it with a 500. JSON may also
nest arrays and objects hundreds deep; the decoder, or any code that walks the value
recursively, then runs out of stack (RecursionError, a 500). Both are a 400 parse_error here,
before any view sees them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No request body of the API nests deeper than a few levels; this leaves ample room.
MAX_DEPTH = 32


def _problem(data: Any) -> str | None:
    """Why a decoded body is refused, or None. Iterative: deep input cannot exhaust the stack."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must be valid Unicode."
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels."
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        problem = _problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
