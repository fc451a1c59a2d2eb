"""Claiming an imported account (docs/integrations.md, "Moving in from Slack").

An import makes inactive accounts without a password. Their owner asks for a link by email
(the same answer whether or not the address has such an account), follows it, and sets a
password: the account is active and its address verified, since the link reached it. The
link is Django's password-reset token under a salt of its own, so it expires after
PASSWORD_RESET_TIMEOUT, works once (setting the password changes what it was signed over)
and can never be used as a password-reset link or the other way round.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User
from chat.exceptions import RateLimited
from chatsite import ratelimit, rls
from integrations.importers.slack_people import PLACEHOLDER_DOMAIN
from integrations.models import ImportedAccount

PLACEHOLDER = f"@{PLACEHOLDER_DOMAIN}"


class ClaimTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "chatsite.integrations.claims.ClaimTokenGenerator"


claim_tokens = ClaimTokenGenerator()


def _claimable(user: User | None) -> bool:
    # An address the import made up (no email in the export) reaches nobody.
    if user is None or user.is_active or user.is_bot or user.email.endswith(PLACEHOLDER):
        return False
    with rls.acting_as_service():
        return ImportedAccount.objects.filter(user=user, claimed_at__isnull=True).exists()


def claim_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("web:claim_confirm", args=[uid, claim_tokens.make_token(user)])
    return f"{settings.CHAT_SITE_URL}{path}"


def claim_request(*, email: str, client_ip: str) -> None:
    """Mail a claim link to ``email`` if an unclaimed imported account has it; say nothing
    either way. Spends the client's CHAT_AUTH_RATE and the address's CHAT_CLAIM_EMAIL_RATE
    budgets (RateLimited past either)."""
    for limit, ident in ((ratelimit.AUTH, client_ip), (ratelimit.CLAIM_EMAIL, email.lower())):
        wait = ratelimit.hit(limit, ident)
        if wait is not None:
            raise RateLimited(f"Too many attempts; try again in {wait} s.", retry_after=wait)
    with rls.acting_as_service():
        user = User.objects.filter(email__iexact=email).first()
    if not _claimable(user):
        return
    assert user is not None
    context = {"user": user, "link": claim_link(user), "site": settings.CHAT_SITE_URL}
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Claim your account",
        message=render_to_string("account/email/claim_message.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def claim_user(*, uidb64: str, token: str) -> User | None:
    """The account a claim link names, while the link is valid and the account unclaimed."""
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, OverflowError):
        return None
    with rls.acting_as_service():
        user = User.objects.filter(pk=user_id).first()
    if user is None or not claim_tokens.check_token(user, token) or not _claimable(user):
        return None
    return user


@transaction.atomic
def claim_complete(*, user: User, password: str) -> User:
    """Give the claimed account its password (already validated by the form), make it
    active and its email verified."""
    with rls.acting_as_service():
        account = ImportedAccount.objects.select_for_update().get(user=user)
        if account.claimed_at is not None:
            return user
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        account.claimed_at = timezone.now()
        account.save(update_fields=["claimed_at"])
        EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(
            primary=False
        )
        address, _ = EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"primary": True, "verified": True}
        )
        if not (address.verified and address.primary):
            address.verified = address.primary = True
            address.save(update_fields=["verified", "primary"])
    return user
