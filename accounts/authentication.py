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

from chatsite import rls


class JWTAuthentication(authentication.JWTAuthentication):
    """``Authorization: Bearer <access>``; inactive or deleted users are refused (401)."""

    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            rls.set_current(rls.context_for(result[0]))
        return result


class JWTAuthenticationScheme(SimpleJWTScheme):
    """drf-spectacular: document the subclass like simplejwt's own class."""

    target_class = "accounts.authentication.JWTAuthentication"
