"""django-allauth's hooks: who may sign up (CHAT_SIGNUP and invitations), how accounts are
saved (through accounts.services), and single sign-on accounts (docs/operations.md,
"Accounts")."""

from __future__ import annotations

import unicodedata
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from accounts import services
from accounts.models import User

# The invitation link a visitor came in by (accounts.views.invitation), kept for the sign-up.
INVITATION_SESSION_KEY = "chat_invitation"


def invitation_token(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    token = session.get(INVITATION_SESSION_KEY) if session is not None else None
    return token if isinstance(token, str) else None


def usable_invitation(request: HttpRequest) -> services.Invitation | None:
    token = invitation_token(request)
    if token is None:
        return None
    try:
        return services.invitation_get_usable(token=token)
    except services.InvitationUnusable:
        return None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """`open`: anyone; `invite`: a visitor who came by a usable invitation link;
        `closed`: nobody."""
        if settings.CHAT_SIGNUP == "open":
            return True
        if settings.CHAT_SIGNUP == "invite":
            return usable_invitation(request) is not None
        return False

    def clean_email(self, email: str) -> str:
        # One spelling per address: Unicode NFC (the same address typed on two keyboards),
        # and the domain in lower case; uniqueness ignores case (accounts.models.User).
        email = unicodedata.normalize("NFC", email.strip())
        return str(User.objects.normalize_email(email))

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> User:
        """Through the one registration service, spending the invitation in the same
        transaction when one let the visitor in."""
        data = form.cleaned_data
        if settings.CHAT_SIGNUP == "invite":
            token = invitation_token(request)
            if token is not None:
                services.invitation_redeem(token=token)
                request.session.pop(INVITATION_SESSION_KEY, None)
        return services.user_register(
            username=data["username"], email=data["email"], password=data["password1"]
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        """The provider's users are the team: they may make an account unless sign-up is
        closed or OIDC_SIGNUP is off."""
        return settings.CHAT_SIGNUP != "closed" and settings.OIDC_SIGNUP
