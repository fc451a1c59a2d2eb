"""What the worker does for notifications (docs/operations.md, "Email notifications" and
"Push notifications"): a push to every device of a mentioned user at once, and every
``CHAT_EMAIL_NOTIFY_INTERVAL`` seconds one email per user for what waits unread.

Both run in the worker as the database's service role and check, when they run, what the
mention alone cannot say: the message may be deleted or read by then, the user deactivated,
the channel muted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import structlog
from allauth.account.models import EmailAddress
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat import presence
from chat.models import Membership
from chat.selectors.dms import conversation_title
from chatsite import rls
from notifications import emails, push, services
from notifications.delivery import push_subscription_forget
from notifications.models import Mention, NotificationPreference, PushSubscription
from worker.registry import background_task, enqueue

logger = structlog.get_logger("chatsite.notifications")

# Mentions older than this are never mailed: someone away for a week reads the app.
EMAIL_MAX_AGE = timedelta(days=7)


def _membership(mention: Mention) -> Membership | None:
    return Membership.objects.filter(channel_id=mention.channel_id, user_id=mention.user_id).first()


def _still_due(mention: Mention, membership: Membership | None) -> bool:
    """Worth an alert now: the message stands, its user is active, may be alerted in the
    channel (``notify``, ``muted``) and has not read it yet."""
    return (
        mention.message.deleted_at is None
        and mention.user.is_active
        and membership is not None
        and services.should_notify(membership)
        and mention.message.seq > membership.last_read_seq
    )


def push_payload(mention: Mention) -> dict[str, Any]:
    """What the service worker shows (static/js/sw.js): a title, a body, the message's URL
    and a tag, so a repeat of the same push replaces the notification instead of adding one."""
    message = mention.message
    author = message.user.shown_name
    where = conversation_title(channel=mention.channel, viewer=mention.user)
    title = author if mention.kind == Mention.Kind.DM else f"{author} in {where}"
    return {
        "title": title,
        "body": emails.snippet(message.content)[:200],
        "url": emails.message_url(mention.channel.name, message.pk),
        "tag": f"message-{message.pk}",
        "kind": mention.kind,
    }


def schedule_push(mentions: list[Mention]) -> None:
    """Queue ``send_push`` for each new mention whose user has a device subscribed; called
    by ``mentions_record`` in the transaction that made them, so a rolled-back message
    pushes nothing."""
    if not mentions or not push.enabled():
        return
    with rls.acting_as_service():
        subscribed = set(
            PushSubscription.objects.filter(
                user_id__in={mention.user_id for mention in mentions}
            ).values_list("user_id", flat=True)
        )
    for mention in mentions:
        if mention.user_id in subscribed:
            enqueue(send_push, mention.pk)


@background_task(max_attempts=4, retry_delay=10)
def send_push(mention_id: int) -> dict[str, int]:
    """Push one mention to every device of its user. A device whose push service answers
    404 or 410 is forgotten; another failure raises after trying them all, so the task is
    retried (a device that got it already sees the repeat replace it, by tag)."""
    mention = (
        Mention.objects.select_related("message__user", "channel", "user")
        .filter(pk=mention_id)
        .first()
    )
    if mention is None or not push.enabled() or not _still_due(mention, _membership(mention)):
        return {"sent": 0, "gone": 0}
    payload = push_payload(mention)
    sent = gone = 0
    failures: list[Exception] = []
    for subscription in PushSubscription.objects.filter(user_id=mention.user_id):
        try:
            outcome = push.send(
                endpoint=subscription.endpoint,
                p256dh=subscription.p256dh,
                auth=subscription.auth,
                payload=payload,
            )
        except Exception as exc:
            logger.warning(
                "push.failed", subscription_id=str(subscription.pk), error=type(exc).__name__
            )
            failures.append(exc)
            continue
        if outcome.gone:
            push_subscription_forget(subscription_id=subscription.pk)
            logger.info("push.subscription_gone", subscription_id=str(subscription.pk))
            gone += 1
        else:
            PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now())
            sent += 1
    if failures:
        raise failures[0]
    return {"sent": sent, "gone": gone}


def _may_mail(user: User) -> bool:
    if not user.is_active or not user.email:
        return False
    if settings.CHAT_REQUIRE_EMAIL_VERIFICATION:
        return EmailAddress.objects.filter(
            user=user, email__iexact=user.email, verified=True
        ).exists()
    return True


@background_task(max_attempts=3, retry_delay=30)
def send_email_notifications() -> dict[str, int]:
    """One email per user whose oldest unmailed DM or mention waited ``CHAT_EMAIL_NOTIFY_DELAY``
    while the user was offline, listing everything still unread for them; at most one per
    user per delay. Registered as a periodic task (notifications.apps)."""
    now = timezone.now()
    delay = timedelta(seconds=settings.CHAT_EMAIL_NOTIFY_DELAY)
    recent = (
        Mention.objects.filter(created_at__gte=now - EMAIL_MAX_AGE)
        .select_related("message__user", "channel", "user")
        .order_by("id")
    )
    preferences = {p.user_id: p for p in NotificationPreference.objects.all()}
    by_user: dict[Any, list[Mention]] = defaultdict(list)
    for mention in recent:
        checked = preferences.get(mention.user_id)
        if checked is None or mention.pk > checked.email_checked_through:
            by_user[mention.user_id].append(mention)
    # A user is mailed once their oldest waiting mention is due; the email then carries every
    # mention waiting for them, the newer ones too (one email, not one per delay).
    for user_id in [u for u, waiting in by_user.items() if waiting[0].created_at > now - delay]:
        del by_user[user_id]
    if not by_user:
        return {"emails": 0}
    online = presence.online_among_now(list(by_user))
    mailed = 0
    for user_id, mentions in by_user.items():
        if str(user_id) in online:
            continue  # they are here: the app shows it; ask again next time
        preference = preferences.get(user_id) or NotificationPreference(user_id=user_id)
        last = preference.email_last_sent_at
        if last is not None and now - last < delay:
            continue  # one email per window: the rest waits for the next one
        user = mentions[0].user
        items = []
        if preference.email_enabled and _may_mail(user):
            items = _items(user, mentions)
        if items:
            emails.build(user, items).send()
            preference.email_last_sent_at = now
            mailed += 1
            logger.info("email.notification_sent", user_id=str(user_id), messages=len(items))
        preference.email_checked_through = max(m.pk for m in mentions)
        preference.save()
    return {"emails": mailed}


def _items(user: User, mentions: list[Mention]) -> list[emails.MailItem]:
    memberships = {
        m.channel_id: m
        for m in Membership.objects.filter(
            user=user, channel_id__in={mention.channel_id for mention in mentions}
        )
    }
    items = []
    for mention in mentions:
        if not _still_due(mention, memberships.get(mention.channel_id)):
            continue
        message = mention.message
        items.append(
            emails.MailItem(
                where=conversation_title(channel=mention.channel, viewer=user),
                author=message.user.shown_name,
                kind=mention.kind,
                text=emails.snippet(message.content),
                url=emails.message_url(mention.channel.name, message.pk),
                sent_at=message.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
        )
    return items
