"""The writes of email and push delivery (docs/api.md, "Push subscriptions", "Notification
settings"): subscriptions per device, the user's notification settings, the unsubscribe link.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat.exceptions import NotFound, ValidationError
from chat.services import base
from chatsite import ratelimit, rls
from notifications import push
from notifications.models import NotificationPreference, PushSubscription

UNSUBSCRIBE_SALT = "notifications.email-unsubscribe"


def preference_for(user: User) -> NotificationPreference:
    """The user's settings, the defaults if they never changed any (nothing is written)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


def push_subscriptions_of(user: User, limit: int = 100) -> list[PushSubscription]:
    """The user's subscribed devices, newest first (a read: row-level security keeps it to
    their own rows)."""
    return list(PushSubscription.objects.filter(user=user)[:limit])


@transaction.atomic
def preference_update(*, user: User, email_enabled: bool) -> NotificationPreference:
    """Turn email notifications on or off for ``user``."""
    base.check_rate(ratelimit.NOTIFICATION_SETTINGS, user, "notification settings changes")
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    preference.email_enabled = email_enabled
    preference.save(update_fields=["email_enabled"])
    return preference


def unsubscribe_token(user: User) -> str:
    """The signed value of an email's unsubscribe link: it names the user, and nobody can
    make one for someone else without the secret key."""
    return signing.dumps(str(user.pk), salt=UNSUBSCRIBE_SALT, compress=False)


def unsubscribe_user(token: str) -> User | None:
    """The user a token was signed for, or None for a token that is not ours."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    with rls.acting_as_service():
        return User.objects.filter(pk=user_id).first()


@transaction.atomic
def email_unsubscribe(*, token: str) -> User:
    """Turn email notifications off for the user the link was made for (no one is signed in:
    the signature is the authority, so the write is the service's)."""
    user = unsubscribe_user(token)
    if user is None:
        raise NotFound("This unsubscribe link is not valid.")
    with rls.acting_as_service():
        preference, _ = NotificationPreference.objects.get_or_create(user=user)
        preference.email_enabled = False
        preference.save(update_fields=["email_enabled"])
    return user


def _validate_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    fields: dict[str, list[str]] = {}
    problem = push.endpoint_problem(endpoint)
    if problem:
        fields["endpoint"] = [problem]
    if not push.is_public_key(p256dh):
        fields["keys.p256dh"] = ["Not a base64url P-256 public key (65 bytes, uncompressed)."]
    if not push.is_auth_secret(auth):
        fields["keys.auth"] = ["Not a base64url 16-byte authentication secret."]
    if fields:
        raise ValidationError("This push subscription cannot be used.", fields=fields)


@transaction.atomic
def push_subscription_add(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Store a device's subscription for ``user``; (subscription, created).

    The same endpoint again updates its keys. An endpoint another user subscribed before (a
    shared browser, signed in as someone else now) moves to ``user``: a device notifies the
    person using it, never the one before. That move touches another user's row, so it is the
    service's.
    """
    base.check_rate(ratelimit.PUSH_SUBSCRIPTION, user, "push subscription changes")
    if not push.enabled():
        raise ValidationError(
            "Push notifications are not set up on this server.", code="push_unavailable"
        )
    _validate_subscription(endpoint, p256dh, auth)
    fields: dict[str, Any] = {"p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300]}
    own = PushSubscription.objects.filter(user=user, endpoint=endpoint).first()
    if own is not None:
        for name, value in fields.items():
            setattr(own, name, value)
        own.save(update_fields=list(fields))
        return own, False
    with rls.acting_as_service():
        PushSubscription.objects.filter(endpoint=endpoint).exclude(user=user).delete()
    subscription = PushSubscription.objects.create(
        user=user, endpoint=endpoint, created_at=timezone.now(), **fields
    )
    return subscription, True


@transaction.atomic
def push_subscription_remove(*, user: User, subscription_id: uuid.UUID) -> None:
    """Forget one of the user's devices; someone else's subscription is not found."""
    base.check_rate(ratelimit.PUSH_SUBSCRIPTION, user, "push subscription changes")
    deleted, _ = PushSubscription.objects.filter(user=user, pk=subscription_id).delete()
    if not deleted:
        raise NotFound("Push subscription not found.")


def push_subscription_forget(*, subscription_id: uuid.UUID) -> None:
    """The push service said the subscription is gone (404/410): the worker removes it."""
    with rls.acting_as_service():
        PushSubscription.objects.filter(pk=subscription_id).delete()
