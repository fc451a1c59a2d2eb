"""Domain errors raised by chat services and selectors.

The DRF exception handler and the WebSocket consumer map them to the shapes in docs/api.md:
``{"error": {"code", "detail", "fields"}}`` with the status below, or an ``error`` event.
"""

from __future__ import annotations


class ChatError(Exception):
    status_code = 400
    default_code = "error"

    def __init__(
        self, detail: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.fields = fields or {}


class ValidationError(ChatError):
    status_code = 400
    default_code = "validation_error"


class PermissionDenied(ChatError):
    status_code = 403
    default_code = "permission_denied"


class NotFound(ChatError):
    status_code = 404
    default_code = "not_found"


class RateLimited(ChatError):
    """Over a rate limit (chatsite.ratelimit): 429 with Retry-After, or an ``error`` event."""

    status_code = 429
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
