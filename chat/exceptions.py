"""Domain errors raised by chat services and selectors.

The DRF exception handler and the WebSocket consumer map them to the shapes in docs/api.md:
``{"error": {"code", "detail", "fields"}}`` with the status below, or an ``error`` event.
"""

from __future__ import annotations


class ChatError(Exception):
    """A domain error: ``detail`` for people, ``code`` for programs, ``fields`` for forms.

    Each kind declares its HTTP status and default code in its class line.
    """

    status_code = 400
    default_code = "error"

    def __init_subclass__(cls, *, status_code: int, code: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = status_code
        cls.default_code = code

    def __init__(
        self, detail: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.fields = fields or {}


class ValidationError(ChatError, status_code=400, code="validation_error"):
    """Bad input, with the fields at fault."""


class PermissionDenied(ChatError, status_code=403, code="permission_denied"):
    """The user may see the thing but not do this to it."""


class NotFound(ChatError, status_code=404, code="not_found"):
    """Nothing by that id that the user can see (a private channel they are not in included)."""


class TooLarge(ChatError, status_code=413, code="too_large"):
    """A request body past its limit (an upload over CHAT_UPLOAD_MAX_BYTES)."""


class RateLimited(ChatError, status_code=429, code="rate_limited"):
    """Over a rate limit (chatsite.ratelimit): 429 with Retry-After, or an ``error`` event."""

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ChatError, status_code=503, code="unavailable"):
    """The database gave up on a request in time (a search past its statement timeout)."""

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
