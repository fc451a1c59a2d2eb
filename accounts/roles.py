"""Who moderates, and who outranks whom: the one answer for the admin, the services and the
pages (docs/operations.md, "Roles and rank").

Rank: member < moderator < admin < superuser. Nobody changes the password, role or status
(is_active, is_staff, is_superuser) of someone of equal or higher rank, unless they are a
superuser; and nobody hands out a role at or above their own rank, unless a superuser.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User

MEMBER_RANK = 0
MODERATOR_RANK = 1
ADMIN_RANK = 2
SUPERUSER_RANK = 3

_ROLE_RANK = {
    User.Role.MEMBER: MEMBER_RANK,
    User.Role.MODERATOR: MODERATOR_RANK,
    User.Role.ADMIN: ADMIN_RANK,
}


def rank(user: User) -> int:
    """The user's place in member < moderator < admin < superuser."""
    if user.is_superuser:
        return SUPERUSER_RANK
    return _ROLE_RANK.get(User.Role(user.role), MEMBER_RANK)


def is_moderator(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An active moderator, admin or superuser: moderates every channel."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return rank(user) >= MODERATOR_RANK


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An active admin or superuser: manages accounts in the admin."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return rank(user) >= ADMIN_RANK


def outranks(actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``'s password, role or status."""
    if not actor.is_active:
        return False
    return actor.is_superuser or rank(actor) > rank(target)


def assignable_roles(actor: User) -> list[str]:
    """The roles ``actor`` may give someone: those below their own rank (all for a superuser)."""
    if actor.is_superuser:
        return list(User.Role.values)
    return [role for role, value in _ROLE_RANK.items() if value < rank(actor)]


def acting_user(request: HttpRequest | Request) -> User:
    """The signed-in user of a request its edge already admitted (``login_required``, DRF's
    ``IsAuthenticated``, the admin's staff check): the one place an edge narrows
    ``User | AnonymousUser`` to the ``User`` that services and selectors take."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
