"""Who the database should think is asking: the row-level security context.

PostgreSQL's policies (chat/migrations) read two settings, ``app.user_id`` and ``app.role``.
The code decides *who* is acting through the context variable below; the database backend in
``chatsite.db`` makes the connection agree with it before every query. A path that never says
who is acting runs as anonymous and sees nothing: the policies fail closed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
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

_current: contextvars.ContextVar[DbContext | None] = contextvars.ContextVar(
    "chatsite_db_context", default=None
)


# A request's session user, read when a query first needs it (RowLevelSecurityMiddleware).
# An explicit context (JWT authentication, acting_as) set after it takes precedence.
_request_context: contextvars.ContextVar[_RequestUserContext | None] = contextvars.ContextVar(
    "chatsite_db_request_context", default=None
)


def current() -> DbContext:
    explicit = _current.get()
    if explicit is not None:
        return explicit
    pending = _request_context.get()
    return pending.get() if pending is not None else ANONYMOUS


def _nobody_moderates(user: AbstractBaseUser) -> bool:
    return False


# "Does this user moderate every channel?" is the accounts app's rule (accounts.roles), which
# it registers when Django starts (accounts.apps); infrastructure imports no app's rules.
# Until then everyone signed in is a member: the policies fail closed.
_moderates: Callable[[AbstractBaseUser], bool] = _nobody_moderates


def register_moderator_rule(rule: Callable[[AbstractBaseUser], bool]) -> None:
    """Make ``rule`` decide which signed-in users act with the moderator role."""
    global _moderates
    _moderates = rule


def context_for(user: AbstractBaseUser | AnonymousUser | None) -> DbContext:
    """The context of a user: anonymous, a member, or a moderator (by the registered rule).

    Inactive users are anonymous.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    role = ROLE_MODERATOR if _moderates(user) else ROLE_AUTHENTICATED
    return DbContext(user_id=str(user.pk), role=role)


def set_current(context: DbContext) -> contextvars.Token[DbContext | None]:
    return _current.set(context)


@contextmanager
def acting_as(context: DbContext) -> Iterator[DbContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def acting_as_user(
    user: AbstractBaseUser | AnonymousUser | None,
) -> AbstractContextManager[DbContext]:
    return acting_as(context_for(user))


def acting_as_service() -> AbstractContextManager[DbContext]:
    return acting_as(SERVICE)


class _RequestUserContext:
    """The context of a request's session user, worked out at the first query that needs it.

    Reading ``request.user`` may itself query the database (the session, the user); those
    tables have no policies, and while the user is being read the context is anonymous.
    """

    __slots__ = ("request", "resolved", "resolving")

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.resolved: DbContext | None = None
        self.resolving = False

    def get(self) -> DbContext:
        if self.resolved is not None:
            return self.resolved
        if self.resolving:
            return ANONYMOUS
        self.resolving = True
        try:
            self.resolved = context_for(getattr(self.request, "user", None))
        finally:
            self.resolving = False
        return self.resolved


class RowLevelSecurityMiddleware:
    """Sets the context of a request from its session user; JWT auth refines it in the view.

    The user is read lazily, at the first query, so the middleware itself never touches the
    database and runs on either side of Django's sync/async boundary without a thread hop.
    The context is reset when the response leaves.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        tokens = _enter_request(request)
        try:
            return self.get_response(request)
        finally:
            _leave_request(tokens)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        tokens = _enter_request(request)
        try:
            response: HttpResponse = await self.get_response(request)
            return response
        finally:
            _leave_request(tokens)


_Tokens = tuple[
    contextvars.Token[DbContext | None], contextvars.Token["_RequestUserContext | None"]
]


def _enter_request(request: HttpRequest) -> _Tokens:
    return _current.set(None), _request_context.set(_RequestUserContext(request))


def _leave_request(tokens: _Tokens) -> None:
    # Also drops a context JWT authentication set during the request.
    _current.reset(tokens[0])
    _request_context.reset(tokens[1])
