"""Outgoing webhooks: every write (docs/integrations.md, "Outgoing webhooks"). What a new
message sets off is in ``integrations.dispatch``."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat import selectors
from chat.exceptions import NotFound
from chat.models import Membership
from chat.services import base
from chatsite import ratelimit, rls
from integrations import destinations
from integrations.dispatch import forget_hooked_channels
from integrations.models import OutgoingDelivery, OutgoingWebhook
from integrations.services import SENDER_NAME_MAX, _bot_make, _check_rate, _field_error

SECRET_PREFIX = "cso_"  # noqa: S105 - a prefix, not a secret
MAX_TRIGGER_WORDS = 20
MAX_TRIGGER_WORD_LENGTH = 100


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _trigger_words(value: object) -> list[str]:
    if value is None:
        return []
    message = (
        f"A list of at most {MAX_TRIGGER_WORDS} words of 1-{MAX_TRIGGER_WORD_LENGTH}"
        " characters, without spaces."
    )
    if not isinstance(value, list) or len(value) > MAX_TRIGGER_WORDS:
        raise _field_error("trigger_words", message)
    words: list[str] = []
    for word in value:
        if (
            not isinstance(word, str)
            or not word.strip()
            or len(word.strip()) > MAX_TRIGGER_WORD_LENGTH
            or any(ch.isspace() for ch in word.strip())
        ):
            raise _field_error("trigger_words", message)
        if word.strip() not in words:
            words.append(word.strip())
    return words


# --- Managing hooks ----------------------------------------------------------------------


@transaction.atomic
def outgoing_hook_create(
    *, actor: User, channel_id: object, name: object, url: object, trigger_words: object = None
) -> tuple[OutgoingWebhook, str]:
    """A hook sending the channel's new messages to ``url`` and answering as a bot of its
    own. Channel owners and moderators make them; returns the row and its secret."""
    if not isinstance(name, str) or not name.strip() or len(name) > SENDER_NAME_MAX:
        raise _field_error("name", f"1-{SENDER_NAME_MAX} characters.")
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "have outgoing webhooks")
    base.check_owner_or_moderator(actor=actor, channel=channel, what="add outgoing webhooks")
    base.check_writable(channel)
    words = _trigger_words(trigger_words)
    _check_rate(ratelimit.BOT_MANAGE, str(actor.pk), "bot changes")
    try:
        destinations.check(url)
    except destinations.Refused as refused:
        raise _field_error("url", str(refused), code="url_refused") from None
    assert isinstance(url, str)
    bot = _bot_make(
        actor=actor, username=f"outhook-{secrets.token_hex(5)}", display_name=name.strip()
    )
    secret = _new_secret()
    hook = OutgoingWebhook.objects.create(
        channel=channel,
        bot=bot,
        name=name.strip(),
        url=url,
        trigger_words=words,
        secret=secret,
        created_by=actor,
    )
    # The bot belongs to the channel, so its answers reach a private one too.
    with rls.acting_as_service():
        Membership.objects.get_or_create(channel=channel, user=bot)
    base.notify_joined(user=bot, channel=channel)
    transaction.on_commit(forget_hooked_channels)
    return hook, secret


def outgoing_hook_list(*, actor: User, channel_id: object) -> list[OutgoingWebhook]:
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_owner_or_moderator(actor=actor, channel=channel, what="see outgoing webhooks")
    return list(OutgoingWebhook.objects.filter(channel=channel).select_related("bot"))


def _hook_for_change(*, actor: User, hook_id: object, what: str) -> OutgoingWebhook:
    try:
        hook_uuid = uuid.UUID(str(hook_id))
    except ValueError:
        raise NotFound("Hook not found.") from None
    hook = (
        OutgoingWebhook.objects.select_related("channel", "bot")
        .select_for_update(of=("self",))
        .filter(pk=hook_uuid)
        .first()
    )
    if hook is None:
        raise NotFound("Hook not found.")
    base.check_owner_or_moderator(actor=actor, channel=hook.channel, what=what)
    return hook


@transaction.atomic
def outgoing_hook_revoke(*, actor: User, hook_id: object) -> OutgoingWebhook:
    hook = _hook_for_change(actor=actor, hook_id=hook_id, what="revoke webhooks")
    if hook.revoked_at is None:
        hook.revoked_at = timezone.now()
        hook.save(update_fields=["revoked_at"])
        transaction.on_commit(forget_hooked_channels)
    return hook


@transaction.atomic
def outgoing_hook_rotate(*, actor: User, hook_id: object) -> tuple[OutgoingWebhook, str]:
    """A new secret for a live hook (the old one stops signing at once); returns it."""
    hook = _hook_for_change(actor=actor, hook_id=hook_id, what="change webhooks")
    if hook.revoked_at is not None:
        raise NotFound("Hook not found.")
    _check_rate(ratelimit.BOT_MANAGE, str(actor.pk), "bot changes")
    hook.secret = _new_secret()
    hook.save(update_fields=["secret"])
    return hook, hook.secret


def deliveries_prune(*, now: Any = None) -> int:
    """Delete delivery rows older than ``CHAT_OUTGOING_WEBHOOK_LOG_DAYS``; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHAT_OUTGOING_WEBHOOK_LOG_DAYS)
    with rls.acting_as_service():
        deleted, _ = OutgoingDelivery.objects.filter(created_at__lt=cutoff).delete()
    return deleted
