"""Slack's values in chatsite's terms: times, usernames, channel names, emoji."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import emoji

from accounts.usernames import skeleton
from chat import rendering
from chat.validators import CHANNEL_NAME_RE
from integrations.importers import mrkdwn

USERNAME_MAX = 30
SKIN_TONES = {str(tone): chr(0x1F3FB + tone - 2) for tone in range(2, 7)}


def slack_time(ts: object) -> datetime | None:
    """A Slack ``ts`` ("1355517523.000005", seconds.microseconds) as an aware datetime."""
    if not isinstance(ts, str | int | float):
        return None
    try:
        value = Decimal(str(ts))
    except InvalidOperation:
        return None
    if not value.is_finite() or not 0 <= value < 32503680000:  # before the year 3000
        return None
    seconds = int(value)
    micro = int((value - seconds) * 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micro)


def username_base(name: str) -> str:
    """A Slack handle in chatsite's username rules: lower-case ASCII letters, digits, ``.``,
    ``-`` and ``_``, ending in a letter or digit (so that ``@name`` mentions it)."""
    # Look-alike letters become the Latin ones they pass for (a Cyrillic "a" a Latin one).
    text = "".join(char if char.isascii() else skeleton(char) for char in name)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower()
    text = re.sub(r"[^a-z0-9_.-]+", "-", text)
    text = re.sub(r"[-.]{2,}", "-", text).strip("-._")[:USERNAME_MAX].rstrip("-.")
    return text or "user"


def channel_name_base(name: str) -> str:
    text = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:60]
    return text if CHANNEL_NAME_RE.match(text) else "imported"


def emoji_for(name: object) -> str | None:
    """A Slack reaction name (``thumbsup``, ``+1::skin-tone-3``) as one Unicode emoji, or
    None for names chatsite does not know (a workspace's custom emoji)."""
    if not isinstance(name, str) or not 0 < len(name) <= 80:
        return None
    base, _, tone = name.partition("::skin-tone-")
    found = emoji.emojize(f":{base}:", language="alias")
    if found == f":{base}:":
        return None
    if tone in SKIN_TONES and rendering.is_emoji(found + SKIN_TONES[tone]):
        found += SKIN_TONES[tone]
    return found if rendering.is_emoji(found) else None


def text_of(value: object, limit: int) -> str:
    return mrkdwn.plain(value)[:limit].strip() if isinstance(value, str) else ""


def nested(entry: dict[str, Any], key: str, inner: str) -> object:
    value = entry.get(key)
    return value.get(inner) if isinstance(value, dict) else None
