"""JWT authentication for the REST API that also says who the database should see acting.

The session path gets its row-level security context from ``RowLevelSecurityMiddleware``; a
bearer token is only read inside the DRF view, so this class sets the context there. The
middleware resets it when the response leaves.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.request import Request
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from chatsite import rls

REVOKED = "token_revoked"

_USER_BY_ID_SQL = f"SELECT * FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608


def _user_by_id(user_id: int) -> User:
    """simplejwt's look-up by the id claim (not found and inactive are 401s), as raw SQL: on
    every API request and WebSocket connect the ORM compiling a get() by primary key cost
    more than the query."""
    in_range = 0 <= user_id < 2**63  # a bigint; the ORM would find nobody, not fail
    found = list(User.objects.raw(_USER_BY_ID_SQL, [user_id])) if in_range else []
    if not found:
        raise AuthenticationFailed("User not found", code="user_not_found")
    user = found[0]
    if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
        raise AuthenticationFailed("User is inactive", code="user_inactive")
    return user


def check_token_still_valid(user: User, token: Token) -> None:
    """Refuse a token issued before the user's ``tokens_valid_after`` (a deactivation, and
    later a password change or a log-out everywhere): it stays refused after a reactivation.

    ``iat`` counts whole seconds and the cut-off is rounded up to one, so a token from the
    same second as the cut-off is refused too.
    """
    cut_off = user.tokens_valid_after
    if cut_off is None:
        return
    issued_at = token.get("iat")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        raise AuthenticationFailed("Token has no issue time.", code=REVOKED)
    if issued_at < cut_off.timestamp():
        raise AuthenticationFailed("Token was revoked.", code=REVOKED)


class JWTAuthentication(authentication.JWTAuthentication):
    """``Authorization: Bearer <access>``: simplejwt's look-up (inactive or deleted users are
    refused with 401), then tokens revoked by ``tokens_valid_after`` are refused too."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        claim = validated_token.get(api_settings.USER_ID_CLAIM)
        digits = isinstance(claim, str) and claim.isascii() and claim.isdigit()
        if isinstance(claim, bool) or not (isinstance(claim, int) or digits):
            # simplejwt would hand it to the ORM, which fails on a non-integer id (a 500).
            raise InvalidToken("Token contained no recognizable user identification")
        if api_settings.CHECK_REVOKE_TOKEN or api_settings.USER_ID_FIELD != "id":
            user = super().get_user(validated_token)
        else:
            user = _user_by_id(int(claim))
        assert isinstance(user, User)
        check_token_still_valid(user, validated_token)
        return user

    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            rls.set_current(rls.context_for(result[0]))
        return result


class JWTAuthenticationScheme(SimpleJWTScheme):
    """drf-spectacular: document the subclass like simplejwt's own class."""

    target_class = "accounts.authentication.JWTAuthentication"
