"""Who the database should think is asking: the row-level security context.

PostgreSQL's policies (chat/migrations) read two settings, ``app.user_id`` and ``app.role``.
The code decides *who* is acting through the context variable below; the database backend in
``chatsite.db`` makes the connection agree with it before every query. A path that never says
who is acting runs as anonymous and sees nothing: the policies fail closed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

ROLE_AUTHENTICATED = "authenticated"
ROLE_MODERATOR = "moderator"
ROLE_SERVICE = "service"


@dataclass(frozen=True)
class DbContext:
    """The values of ``app.user_id`` and ``app.role``; empty strings mean anonymous."""

    user_id: str = ""
    role: str = ""


ANONYMOUS = DbContext()
SERVICE = DbContext(role=ROLE_SERVICE)

_current: contextvars.ContextVar[DbContext] = contextvars.ContextVar(
    "chatsite_db_context", default=ANONYMOUS
)


def current() -> DbContext:
    return _current.get()


def context_for(user: Any) -> DbContext:
    """The context of a user: anonymous, a member, or a moderator.

    Moderators, admins and Django superusers (who run the admin site) get the moderator
    role; inactive users are anonymous.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    moderates = getattr(user, "is_moderator", False) or getattr(user, "is_superuser", False)
    role = ROLE_MODERATOR if moderates else ROLE_AUTHENTICATED
    return DbContext(user_id=str(user.pk), role=role)


def set_current(context: DbContext) -> contextvars.Token[DbContext]:
    return _current.set(context)


@contextmanager
def acting_as(context: DbContext) -> Iterator[DbContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def acting_as_user(user: Any) -> Any:
    return acting_as(context_for(user))


def acting_as_service() -> Any:
    return acting_as(SERVICE)


class RowLevelSecurityMiddleware:
    """Sets the context of a request from its session user; JWT auth refines it in the view.

    The context is reset when the response leaves, so a thread that serves the next request
    starts from anonymous again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(context_for(getattr(request, "user", None)))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
