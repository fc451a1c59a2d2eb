"""Writes on accounts that moderators make: deactivating and reactivating users.

Like ``chat.services``: check the actor's rights, change the row, record the change in the
audit trail, and queue the real-time event to leave on commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from chat import audit, events
from chat.exceptions import PermissionDenied, ValidationError

# A moderator acts on members; an admin on members and moderators; a superuser on anyone.
_ROLE_RANK = {User.Role.MEMBER: 0, User.Role.MODERATOR: 1, User.Role.ADMIN: 2}


def _check_may_moderate(*, actor: Any, user: User) -> None:
    if not (getattr(actor, "is_active", False) and getattr(actor, "is_moderator", False)):
        raise PermissionDenied("Only moderators can do this.")
    if actor.pk == user.pk:
        raise PermissionDenied("You cannot do this to your own account.")
    if actor.is_superuser:
        return
    if user.is_superuser or _ROLE_RANK[User.Role(user.role)] >= _ROLE_RANK[User.Role(actor.role)]:
        raise PermissionDenied(f"Only someone above the {user.role} role can do this to {user}.")


def _revoke_refresh_tokens(user: User) -> int:
    """Blacklist every refresh token of the user that is not blacklisted yet."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    tokens = list(outstanding.values_list("pk", flat=True))
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=token_id) for token_id in tokens], ignore_conflicts=True
    )
    return len(tokens)


@transaction.atomic
def user_deactivate(*, actor: Any, user: User) -> User:
    """Cut a user off at once.

    Their access tokens stop working on the next request (simplejwt checks ``is_active``),
    their refresh tokens are blacklisted, their web session ends (Django's auth backend
    refuses inactive users), and their open WebSockets close with 4403.
    """
    _check_may_moderate(actor=actor, user=user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(f"{user} is already deactivated.", code="already_inactive")
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = _revoke_refresh_tokens(user)
    audit.record(
        actor=actor,
        target=user,
        description=user.username,
        change_message=(
            f"Deactivated {user.username}: signed out everywhere, "
            f"{revoked} refresh token(s) revoked."
        ),
    )
    events.notify_user_deactivated(user_id=user.pk)
    return user


@transaction.atomic
def user_reactivate(*, actor: Any, user: User) -> User:
    """Let a deactivated user sign in again (revoked tokens stay revoked)."""
    _check_may_moderate(actor=actor, user=user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise ValidationError(f"{user} is active.", code="already_active")
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        target=user,
        description=user.username,
        change_message=f"Reactivated {user.username}: they can sign in again.",
    )
    return user
