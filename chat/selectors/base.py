"""What the selectors share: id parsing and the sizes and cursors of pages."""

from __future__ import annotations

import uuid
from typing import Any

from chat.exceptions import ValidationError
from chat.validators import parse_uuid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def as_uuid(value: Any, *, field: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValidationError(f"{field} must be a UUID.", fields={field: ["Must be a valid UUID."]})
    return parsed


# Lists that page by a keyset cursor (docs/api.md "Paging lists"): a page of ``limit`` items
# and the cursor of the next page, or None on the last one. Cursors are opaque to clients.
DEFAULT_LIST_PAGE_SIZE = 100
MAX_LIST_PAGE_SIZE = 200


def next_cursor(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], str(key(rows[limit - 1]))
