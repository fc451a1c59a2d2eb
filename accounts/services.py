"""Writes on accounts: registration (API and sign-up page alike), invitations, password
changes and signing out everywhere, the display name, and the moderators' deactivating and
reactivating of users.

Like ``chat.services``: check the actor's rights, change the row, record the change in the
audit trail, and queue the real-time event to leave on commit.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import roles
from accounts.models import Invitation, User
from accounts.usernames import SIMILAR_USERNAME, username_key
from chat import audit, events
from chat.exceptions import NotFound, PermissionDenied, RateLimited, ValidationError
from chatsite import ratelimit, rls

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


# --- Passwords and signing out ------------------------------------------------------------

WRONG_PASSWORD = "Your current password is incorrect."  # noqa: S105 - a message


def user_sign_out_everywhere(*, user: User) -> int:
    """End every session, refresh token and access token of the user issued until now, and
    close their open sockets (a heartbeat re-check also closes them if the event is lost).

    The caller's own session, if it should live on, is re-hashed by the edge afterwards
    (``django.contrib.auth.update_session_auth_hash``). Returns the refresh tokens revoked.
    """
    revoked = revoke_tokens(user)
    events.notify_user_signed_out(user_id=user.pk)
    return revoked


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> User:
    """Change a user's own password after checking the current one; every earlier session,
    token and socket of theirs ends (``user_sign_out_everywhere``)."""
    if not user.check_password(current_password):
        raise ValidationError(WRONG_PASSWORD, fields={"current_password": [WRONG_PASSWORD]})
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        messages = list(exc.messages)
        raise ValidationError(" ".join(messages), fields={"new_password": messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_sign_out_everywhere(user=user)
    return user


# --- The display name ---------------------------------------------------------------------

DISPLAY_NAME_MAX = 80


def clean_display_name(value: str) -> str:
    """A display name as kept: NFC, trimmed, without control or format characters (bidi
    overrides included), at most DISPLAY_NAME_MAX characters; empty means "use the username"."""
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in value):
        message = "A display name cannot hold control or formatting characters."
        raise ValidationError(message, fields={"display_name": [message]})
    if len(value) > DISPLAY_NAME_MAX:
        message = f"Ensure this field has no more than {DISPLAY_NAME_MAX} characters."
        raise ValidationError(message, fields={"display_name": [message]})
    return value


@transaction.atomic
def user_update_profile(*, user: User, display_name: str) -> User:
    """Change the user's own display name (CHAT_PROFILE_RATE per user)."""
    display_name = clean_display_name(display_name)
    _check_rate(ratelimit.PROFILE, user, "profile changes")
    user.display_name = display_name
    user.save(update_fields=["display_name"])
    return user


def _check_rate(limit: ratelimit.Limit, user: User, what: str) -> None:
    wait = ratelimit.hit(limit, str(user.pk))
    if wait is not None:
        raise RateLimited(f"Too many {what}; try again in {wait} s.", retry_after=wait)


# --- Invitations --------------------------------------------------------------------------

INVITATION_UNKNOWN = "This invitation link is not valid. Ask for a new one."
INVITATION_EXPIRED = "This invitation has expired. Ask whoever sent it for a new one."
INVITATION_USED_UP = "This invitation has been used up. Ask whoever sent it for a new one."
INVITATION_MAX_DAYS = 365
INVITATION_MAX_USES = 1000


class InvitationUnusable(NotFound, status_code=404, code="not_found"):
    """The link is unknown, expired or used up; ``reason`` says which."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def invitation_create(
    *,
    actor: User,
    expires_at: datetime | None = None,
    max_uses: int = 1,
    email: str = "",
) -> tuple[Invitation, str]:
    """Make an invitation link (moderators and admins, CHAT_INVITE_RATE per user).

    Returns the invitation and its token, which is not stored (only its hash): the caller
    shows the link once.
    """
    if not roles.is_moderator(actor):
        raise PermissionDenied("Only moderators and admins can invite people.")
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=settings.CHAT_INVITE_DAYS)
    problems: dict[str, list[str]] = {}
    if expires_at <= now:
        problems["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + timedelta(days=INVITATION_MAX_DAYS):
        problems["expires_at"] = [f"An invitation lasts at most {INVITATION_MAX_DAYS} days."]
    if not 1 <= max_uses <= INVITATION_MAX_USES:
        problems["max_uses"] = [f"Use a number from 1 to {INVITATION_MAX_USES}."]
    if problems:
        raise ValidationError(" ".join(p[0] for p in problems.values()), fields=problems)
    _check_rate(ratelimit.INVITE, actor, "invitations")
    token = secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        token_hash=invitation_token_hash(token),
        created_by=actor,
        expires_at=expires_at,
        max_uses=max_uses,
        email=User.objects.normalize_email(email.strip()) if email else "",
    )
    return invitation, token


def invitation_get_usable(*, token: str) -> Invitation:
    """The invitation of a link if it can still sign someone up, else InvitationUnusable.

    Read as the service: the visitor is anonymous, and the token is the right to see it.
    """
    with rls.acting_as_service():
        invitation = Invitation.objects.filter(token_hash=invitation_token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable(INVITATION_UNKNOWN, reason="unknown")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(INVITATION_EXPIRED, reason="expired")
    if invitation.uses >= invitation.max_uses:
        raise InvitationUnusable(INVITATION_USED_UP, reason="used_up")
    return invitation


@transaction.atomic
def invitation_redeem(*, token: str) -> Invitation:
    """Spend one use of an invitation, in the transaction that creates the account.

    One conditional UPDATE: of two sign-ups racing for the last use, one wins and the other
    gets InvitationUnusable; the CHECK (uses <= max_uses) has the last word.
    """
    token_hash = invitation_token_hash(token)
    with rls.acting_as_service():
        spent = Invitation.objects.filter(
            token_hash=token_hash, expires_at__gt=timezone.now(), uses__lt=models.F("max_uses")
        ).update(uses=models.F("uses") + 1)
        if spent:
            return Invitation.objects.get(token_hash=token_hash)
    invitation_get_usable(token=token)  # raises with the reason
    raise InvitationUnusable(INVITATION_USED_UP, reason="used_up")  # pragma: no cover - a race
