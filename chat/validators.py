"""Content rules shared by the model, the serializers and the services.

The one validator of message content for every door (REST, WebSocket, the room form):
``clean_content`` gives the text that is stored, ``content_problem`` says why a text cannot
be a message. docs/api.md states the rules.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.core.exceptions import ValidationError

MAX_CONTENT_LENGTH = 4000
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
# The internal name of a direct message: "dm." and the hex of its id. The dot is outside the
# channel names people choose, so the two can never collide.
DM_NAME_PREFIX = "dm."
DM_NAME_RE = re.compile(r"^dm\.[0-9a-f]{32}$")
# What every door (the model, the API, the services, the page) says about a bad channel name.
CHANNEL_NAME_RULE = (
    "Use 1-80 lowercase letters, digits, hyphens or underscores, starting with a letter or digit."
)
# C0 controls other than tab (\x09) and newline (\x0a); DEL is harmless and allowed.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")


# Bidirectional formatting controls (embeddings, overrides, isolates, marks) can make text
# display in an order other than the one it is read in ("Trojan Source"). They are stripped
# from messages, and the rest of the text is kept.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
    "\u200e\u200f\u061c"  # LRM, RLM, ALM
)
_STRIP_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))
# Characters that show nothing: controls, format characters (zero-width space, joiners, word
# joiner, BOM, soft hyphen, tags, ...), separators, and marks with no base to sit on.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters and symbols that render as blank space all the same.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_visible(character: str) -> bool:
    return (
        unicodedata.category(character) not in _INVISIBLE_CATEGORIES
        and character not in _BLANK_CHARACTERS
    )


def clean_content(content: str) -> str:
    """The text that is stored for ``content``: without bidirectional controls."""
    return content.translate(_STRIP_BIDI)


def content_problem(content: object) -> str | None:
    """Why ``content`` cannot be a message, or None when it can (checked after cleaning)."""
    if not isinstance(content, str):
        return "Content must be a string."
    if _FORBIDDEN_CONTROLS.search(content):
        return "Content must not contain NUL or other control characters."
    text = clean_content(content)
    if not text.strip():
        return "Content must not be empty."
    if not any(map(is_visible, text)):
        return "Content must contain at least one visible character."
    if len(text) > MAX_CONTENT_LENGTH:
        return f"Content must be at most {MAX_CONTENT_LENGTH} characters (got {len(text)})."
    return None


def validate_message_content(content: object) -> None:
    problem = content_problem(content)
    if problem:
        raise ValidationError(problem, code="invalid_content")


def validate_channel_name(name: str) -> None:
    if not (CHANNEL_NAME_RE.match(name) or DM_NAME_RE.match(name)):
        raise ValidationError(CHANNEL_NAME_RULE, code="invalid_name")


def parse_uuid(value: object) -> uuid.UUID | None:
    """``value`` as a UUID (a UUID, or text that ``uuid.UUID`` reads), or None if it is not one.

    The one parser of ids from paths, bodies and frames; each caller says what a bad id means
    there (a 404 for a path, a 400 for a field).
    """
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
