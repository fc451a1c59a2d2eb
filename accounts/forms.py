"""The sign-up form of the pages (allauth's, with the site's rules and fixed labels)."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from django.contrib.auth import password_validation

from accounts import services
from accounts.adapters import usable_invitation

WRONG_INVITED_EMAIL = "This invitation is for another email address."


class SignupForm(AllauthSignupForm):
    """Username, Email and Password; the same problems as the API (look-alike usernames,
    emails that differ only in case) by field, and an invitation's email if it names one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username"
        self.fields["email"].label = "Email"
        self.fields["password1"].label = "Password"
        self.fields[
            "password1"
        ].help_text = password_validation.password_validators_help_text_html()
        self.invitation = usable_invitation(context.request)
        if self.invitation is not None and self.invitation.email:
            self.fields["email"].initial = self.invitation.email

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        problems = services.user_registration_problems(
            username=cleaned.get("username", ""),
            email=cleaned.get("email", ""),
            password=cleaned.get("password1", ""),
        )
        for field, messages in problems.items():
            target = "password1" if field == "password" else field
            if target not in self.errors:
                for message in messages:
                    self.add_error(target, message)
        wanted = self.invitation.email if self.invitation is not None else ""
        email = cleaned.get("email") or ""
        if wanted and "email" not in self.errors and email.casefold() != wanted.casefold():
            self.add_error("email", WRONG_INVITED_EMAIL)
        return cleaned
