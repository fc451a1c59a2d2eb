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

_USER_BY_ID_SQL = f"SELECT * FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608


class JWTAuthentication(authentication.JWTAuthentication):
    """``Authorization: Bearer <access>``; inactive or deleted users are refused (401)."""

    def get_user(self, validated_token: Token) -> Any:
        """simplejwt's look-up by the id claim, as raw SQL: the ORM compiling a get() by
        primary key cost more than the query on every API request."""
        if api_settings.CHECK_REVOKE_TOKEN or api_settings.USER_ID_FIELD != "id":
            return super().get_user(validated_token)
        claim = validated_token.get(api_settings.USER_ID_CLAIM)
        digits = isinstance(claim, str) and claim.isascii() and claim.isdigit()
        if isinstance(claim, bool) or not (isinstance(claim, int) or digits):
            raise InvalidToken("Token contained no recognizable user identification")
        user_id = int(claim)
        found = list(self.user_model.objects.raw(_USER_BY_ID_SQL, [user_id]))
        if not found:
            raise AuthenticationFailed("User not found", code="user_not_found")
        user = found[0]
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user

    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            rls.set_current(rls.context_for(result[0]))
        return result


class JWTAuthenticationScheme(SimpleJWTScheme):
    """drf-spectacular: document the subclass like simplejwt's own class."""

    target_class = "accounts.authentication.JWTAuthentication"
