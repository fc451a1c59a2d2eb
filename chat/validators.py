"""Content rules shared by the model, the serializers and the services."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_CONTENT_LENGTH = 4000
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
# C0 controls other than tab (\x09) and newline (\x0a); DEL is harmless and allowed.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")


def content_problem(content: object) -> str | None:
    """Why ``content`` cannot be a message, or None when it can."""
    if not isinstance(content, str):
        return "Content must be a string."
    if _FORBIDDEN_CONTROLS.search(content):
        return "Content must not contain NUL or other control characters."
    if not content.strip():
        return "Content must not be empty."
    if len(content) > MAX_CONTENT_LENGTH:
        return f"Content must be at most {MAX_CONTENT_LENGTH} characters (got {len(content)})."
    return None


def validate_message_content(content: object) -> None:
    problem = content_problem(content)
    if problem:
        raise ValidationError(problem, code="invalid_content")


def validate_channel_name(name: str) -> None:
    if not CHANNEL_NAME_RE.match(name):
        raise ValidationError(
            "Use 1-80 lowercase letters, digits, hyphens or underscores, "
            "starting with a letter or digit.",
            code="invalid_name",
        )
