"""Writes on accounts: registration (API and sign-up page alike), and the moderators'
deactivating and reactivating of users.

Like ``chat.services``: check the actor's rights, change the row, record the change in the
audit trail, and queue the real-time event to leave on commit.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import roles
from accounts.models import User
from accounts.usernames import SIMILAR_USERNAME, username_key
from chat import audit, events
from chat.exceptions import PermissionDenied, ValidationError

USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "An account with this email exists."


def user_registration_problems(*, username: str, email: str, password: str) -> dict[str, list[str]]:
    """Why these details cannot make a new account, by field (empty when they can).

    Usernames and emails are unique regardless of case, and a username must not look like
    an existing one (accounts.usernames); the password must pass the configured validators.
    Field formats are the serializer's and the form's business.
    """
    problems: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        problems["username"] = [USERNAME_TAKEN]
    elif User.objects.filter(username_skeleton=username_key(username)).exists():
        problems["username"] = [SIMILAR_USERNAME]
    if email and User.objects.filter(email__iexact=email).exists():
        problems["email"] = [EMAIL_TAKEN]
    try:
        password_validation.validate_password(password, User(username=username, email=email))
    except DjangoValidationError as exc:
        problems["password"] = list(exc.messages)
    return problems


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User:
    """Create a member account from details that passed ``user_registration_problems``.

    Both doors (the API serializer and the sign-up form) check those problems while
    validating, so each field error shows beside its field; the database's unique indexes
    have the last word when two identical sign-ups race.
    """
    try:
        # No savepoint: the IntegrityError leaves the service (as a ValidationError), whose
        # own savepoint undoes the attempt.
        with transaction.atomic(savepoint=False):
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as exc:
        # Lost a race with an identical (or look-alike) sign-up: name the field that clashed.
        if "email" in str(exc):
            field, message = "email", EMAIL_TAKEN
        elif "username_skeleton" in str(exc):
            field, message = "username", SIMILAR_USERNAME
        else:
            field, message = "username", USERNAME_TAKEN
        raise ValidationError(message, fields={field: [message]}) from None


@transaction.atomic
def user_ensure_admin(*, username: str, password: str, email: str = "") -> User | None:
    """Make the first admin, a superuser, unless a user of that name exists (then None).

    Safe at every start: an existing account keeps its password, role and status. The
    password must pass the configured validators, as at sign-up.
    """
    if User.objects.filter(username__iexact=username).exists():
        return None
    problems = user_registration_problems(username=username, email=email, password=password)
    if problems:
        detail = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in problems.items())
        raise ValidationError(detail, fields=problems)
    try:
        with transaction.atomic():
            return User.objects.create_superuser(username=username, email=email, password=password)
    except IntegrityError:
        return None  # made by another process starting at the same moment


def check_may_manage(*, actor: User, user: User) -> None:
    """Refuse unless ``actor`` outranks ``user`` (accounts.roles): the rule for changing a
    password, a role or a status (is_active, is_staff, is_superuser)."""
    if not roles.outranks(actor, user):
        raise PermissionDenied(f"Only someone above the {user.role} role can do this to {user}.")


def check_may_assign_role(*, actor: User, role: str) -> None:
    """Refuse a role at or above the actor's own rank (superusers may give any)."""
    if role not in roles.assignable_roles(actor):
        raise PermissionDenied(f"Only someone above the {role} role can make someone {role}.")


def _check_may_moderate(*, actor: User, user: User) -> None:
    if not roles.is_moderator(actor):
        raise PermissionDenied("Only moderators can do this.")
    if actor.pk == user.pk:
        raise PermissionDenied("You cannot do this to your own account.")
    check_may_manage(actor=actor, user=user)


def revoke_tokens(user: User) -> int:
    """Invalidate every access and refresh token issued to the user until now, and every
    session signed in until now (``User.get_session_auth_hash``), for good.

    Sets ``tokens_valid_after`` (rounded up to the next whole second: a token's ``iat`` counts
    whole seconds), which the REST API, token refresh and the WebSocket compare with each
    token's issue time, and blacklists the outstanding refresh tokens. A later reactivation
    changes neither. Deactivation uses it; so will a password change and "log out
    everywhere". Returns how many refresh tokens were blacklisted.
    """
    now = timezone.now()
    cut_off = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)
    user.tokens_valid_after = cut_off
    user.save(update_fields=["tokens_valid_after"])
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    tokens = list(outstanding.values_list("pk", flat=True))
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=token_id) for token_id in tokens], ignore_conflicts=True
    )
    return len(tokens)


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Cut a user off at once.

    Their access and refresh tokens stop working on the next request and stay refused after
    a reactivation (``revoke_tokens``), their web session ends (Django's auth backend
    refuses inactive users), and their open WebSockets close with 4403.
    """
    _check_may_moderate(actor=actor, user=user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(f"{user} is already deactivated.", code="already_inactive")
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = revoke_tokens(user)
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
def user_reactivate(*, actor: User, user: User) -> User:
    """Let a deactivated user sign in again; tokens issued before the deactivation stay
    refused, so they get new ones by signing in."""
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
