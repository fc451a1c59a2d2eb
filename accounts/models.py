"""The chatsite user: a handle, a unique email, a display name and a role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from accounts.usernames import SIMILAR_USERNAME, username_key


class User(AbstractUser):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MODERATOR = "moderator", "Moderator"
        ADMIN = "admin", "Admin"

    email = models.EmailField("email address", max_length=254)
    display_name = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # A bot: made by a moderator, acts through API tokens and incoming webhooks only, never
    # signs in through the pages (docs/integrations.md).
    is_bot = models.BooleanField(default=False, db_default=False, editable=False)
    # Access and refresh tokens issued before this moment are refused, whatever happens to
    # the account later (a reactivation included). Set by accounts.services.revoke_tokens.
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)
    # The TR39 skeleton of the username, hashed (accounts.usernames.username_key): unique, so
    # a username that looks like an existing one is refused in one query, also in a race.
    username_skeleton = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # Handles are unique regardless of case, whichever door the account comes in by.
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["member", "moderator", "admin"]),
                name="accounts_user_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    # Sessions follow tokens_valid_after too: a session signed in before the cut-off no
    # longer matches its hash (Django's get_user then ends it), also after a reactivation.
    # With no cut-off the hash is Django's own, so existing sessions stay valid.
    _SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        value = self.password
        if self.tokens_valid_after is not None:
            value += f"|{self.tokens_valid_after.isoformat()}"
        return salted_hmac(
            self._SESSION_HASH_SALT, value, secret=secret, algorithm="sha256"
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret)

    def clean(self) -> None:
        """Model forms (the sign-up page, the admin) refuse a username like an existing one."""
        super().clean()
        key = username_key(self.username or "")
        if User.objects.filter(username_skeleton=key).exclude(pk=self.pk).exists():
            raise ValidationError({"username": SIMILAR_USERNAME})

    def save(self, *args: object, **kwargs: object) -> None:
        self.username_skeleton = username_key(self.username)
        # A superuser (createsuperuser knows nothing of roles) administers the site: role admin.
        if self.is_superuser:
            self.role = self.Role.ADMIN
        # Staff status follows the rank (accounts.roles, which builds on this model and is
        # imported here, not at the top): moderators and above reach the admin site.
        from accounts import roles

        self.is_staff = roles.rank(self) >= roles.MODERATOR_RANK
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"role", "is_superuser"} & set(update_fields):  # type: ignore[call-overload]
            kwargs["update_fields"] = update_fields = {*update_fields, "role", "is_staff"}  # type: ignore[misc]
        if update_fields is not None and "username" in update_fields:  # type: ignore[operator]
            kwargs["update_fields"] = {*update_fields, "username_skeleton"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Invitation(models.Model):
    """A sign-up link made by a moderator or admin: usable ``max_uses`` times until
    ``expires_at``, optionally for one email address only.

    Only a hash of the link's token is kept; the link itself is shown once, when made.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0, editable=False)
    email = models.EmailField(max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__gte=1), name="accounts_invitation_max_uses_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(uses__lte=models.F("max_uses")),
                name="accounts_invitation_uses_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {str(self.pk)[:8]} ({self.uses}/{self.max_uses})"
