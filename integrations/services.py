"""Every write of the integrations app: bots, their API tokens, incoming webhooks, and a
hook's post (docs/integrations.md). Check, do, notify, like chat's services: messages go
through ``chat.services.message_create``, so events, mentions and rendering all apply.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import emoji
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.usernames import username_key
from chat import audit, selectors
from chat import services as chat_services
from chat.exceptions import NotFound, PermissionDenied, RateLimited, ValidationError
from chat.models import Membership, Message
from chat.services import base
from chat.validators import MAX_CONTENT_LENGTH
from chatsite import ratelimit, rls
from integrations.models import BotToken, IncomingWebhook

# Bot tokens carry this prefix: a JWT never starts with it (they start with "eyJ"), so the
# authentication class knows at once which kind of token it holds.
BOT_TOKEN_PREFIX = "csb_"  # noqa: S105 - a prefix, not a secret
HOOK_TOKEN_PREFIX = "csh_"  # noqa: S105 - a prefix, not a secret
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
SENDER_NAME_MAX = 80


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _check_rate(limit: ratelimit.Limit, ident: str, what: str) -> None:
    wait = ratelimit.hit(limit, ident)
    if wait is not None:
        raise RateLimited(f"Too many {what}; try again in {wait} s.", retry_after=wait)


def _field_error(field: str, message: str, code: str = "validation_error") -> ValidationError:
    return ValidationError(message, code=code, fields={field: [message]})


# --- Bots --------------------------------------------------------------------------------


@transaction.atomic
def bot_create(*, actor: User, username: object, display_name: object = "") -> User:
    """A bot account, made by a moderator or admin. It has no usable password: it acts only
    through API tokens and hooks, never through the sign-in pages."""
    base.check_moderator(actor)
    _check_rate(ratelimit.BOT_MANAGE, str(actor.pk), "bot changes")
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise _field_error("username", "1-40 letters, digits, '.', '-' or '_'.")
    if not isinstance(display_name, str) or len(display_name) > SENDER_NAME_MAX:
        raise _field_error("display_name", f"At most {SENDER_NAME_MAX} characters.")
    return _bot_make(actor=actor, username=username, display_name=display_name.strip())


def _bot_make(*, actor: User, username: str, display_name: str) -> User:
    taken = "A user with that username already exists."
    with rls.acting_as_service():
        if User.objects.filter(username_skeleton=username_key(username)).exists():
            raise _field_error("username", taken, code="username_taken")
        try:
            with transaction.atomic():
                bot = User(
                    username=username,
                    # Emails are unique; a bot's is an address that never receives mail.
                    email=f"{username.lower()}@bots.invalid",
                    display_name=display_name,
                    password=make_password(None),
                    is_bot=True,
                )
                bot.save()
        except IntegrityError:
            raise _field_error("username", taken, code="username_taken") from None
    audit.record(actor=actor, target=bot, description=bot.username, change_message="Created bot.")
    return bot


def bot_get(*, actor: User, bot_id: object) -> User:
    base.check_moderator(actor)
    user_id = bot_id if isinstance(bot_id, int) else None
    if isinstance(bot_id, str) and bot_id.isascii() and bot_id.isdigit() and len(bot_id) < 19:
        user_id = int(bot_id)
    bot = User.objects.filter(pk=user_id, is_bot=True).first() if user_id is not None else None
    if bot is None:
        raise NotFound("Bot not found.")
    return bot


def bot_list(*, actor: User) -> list[User]:
    base.check_moderator(actor)
    return list(User.objects.filter(is_bot=True).order_by("username"))


@transaction.atomic
def bot_deactivate(*, actor: User, bot: User) -> User:
    """Switch a bot off: every token and hook of it stops working at once."""
    base.check_moderator(actor)
    if not bot.is_active:
        raise ValidationError(f"{bot} is already deactivated.", code="already_inactive")
    bot.is_active = False
    bot.save(update_fields=["is_active"])
    audit.record(
        actor=actor, target=bot, description=bot.username, change_message="Deactivated bot."
    )
    return bot


# --- Bot tokens --------------------------------------------------------------------------


def _channel_scope(*, actor: User, channel_ids: object) -> list[str]:
    if channel_ids is None:
        return []
    if not isinstance(channel_ids, list) or len(channel_ids) > 100:
        raise _field_error("channel_ids", "A list of at most 100 channel ids.")
    scope = []
    for value in channel_ids:
        try:
            channel = selectors.channel_get(user=actor, channel_id=value)
        except (NotFound, ValidationError):
            raise _field_error("channel_ids", f"No such channel: {str(value)[:40]}.") from None
        scope.append(str(channel.pk))
    return sorted(set(scope))


@transaction.atomic
def bot_token_create(
    *, actor: User, bot: User, name: object = "", channel_ids: object = None
) -> tuple[BotToken, str]:
    """A new API token for ``bot``; returns the row and the token, which is never shown
    again. ``channel_ids`` limits it to those channels."""
    base.check_moderator(actor)
    _check_rate(ratelimit.BOT_MANAGE, str(actor.pk), "bot changes")
    if not isinstance(name, str) or len(name) > SENDER_NAME_MAX:
        raise _field_error("name", f"At most {SENDER_NAME_MAX} characters.")
    if not bot.is_active:
        raise PermissionDenied("This bot is deactivated.", code="bot_inactive")
    scope = _channel_scope(actor=actor, channel_ids=channel_ids)
    token = _new_token(BOT_TOKEN_PREFIX)
    row = BotToken.objects.create(
        bot=bot,
        name=name.strip(),
        token_hash=token_hash(token),
        channel_ids=scope,
        created_by=actor,
    )
    return row, token


def bot_token_list(*, actor: User, bot: User) -> list[BotToken]:
    base.check_moderator(actor)
    return list(BotToken.objects.filter(bot=bot))


@transaction.atomic
def bot_token_revoke(*, actor: User, bot: User, token_id: object) -> BotToken:
    base.check_moderator(actor)
    try:
        row = BotToken.objects.select_for_update().get(pk=uuid.UUID(str(token_id)), bot=bot)
    except (ValueError, BotToken.DoesNotExist):
        raise NotFound("Token not found.") from None
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
    return row


def bot_token_authenticate(token: str) -> tuple[User, BotToken] | None:
    """The active bot and live token ``token`` names, or None. Runs as the service: the
    request has no user yet."""
    with rls.acting_as_service():
        row = (
            BotToken.objects.select_related("bot")
            .filter(token_hash=token_hash(token), revoked_at__isnull=True)
            .first()
        )
    if row is None or not row.bot.is_active or not row.bot.is_bot:
        return None
    return row.bot, row


def live_bot_token_ids(token_ids: Iterable[str]) -> set[str]:
    """Which of ``token_ids`` are tokens not revoked (a WebSocket's heartbeat re-check, in
    one query; no query for none). The caller reads as the service."""
    ids = sorted(set(token_ids))
    if not ids:
        return set()
    rows = BotToken.objects.filter(pk__in=ids, revoked_at__isnull=True).values_list("pk", flat=True)
    return {str(pk) for pk in rows}


# --- Incoming webhooks -------------------------------------------------------------------


@transaction.atomic
def hook_create(*, actor: User, channel_id: object, name: object) -> tuple[IncomingWebhook, str]:
    """A hook posting to the channel as a bot of its own (named after the hook). Channel
    owners and moderators make them; returns the row and the token, shown only now."""
    if not isinstance(name, str) or not name.strip() or len(name) > SENDER_NAME_MAX:
        raise _field_error("name", f"1-{SENDER_NAME_MAX} characters.")
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "have incoming webhooks")
    base.check_owner_or_moderator(actor=actor, channel=channel, what="add incoming webhooks")
    base.check_writable(channel)
    _check_rate(ratelimit.BOT_MANAGE, str(actor.pk), "bot changes")
    username = f"hook-{secrets.token_hex(5)}"
    bot = _bot_make(actor=actor, username=username, display_name=name.strip())
    token = _new_token(HOOK_TOKEN_PREFIX)
    hook = IncomingWebhook.objects.create(
        channel=channel,
        bot=bot,
        name=name.strip(),
        token_hash=token_hash(token),
        created_by=actor,
    )
    # The bot belongs to the channel, so it can post to a private one too.
    with rls.acting_as_service():
        Membership.objects.get_or_create(channel=channel, user=bot)
    base.notify_joined(user=bot, channel=channel)
    return hook, token


def hook_list(*, actor: User, channel_id: object) -> list[IncomingWebhook]:
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_owner_or_moderator(actor=actor, channel=channel, what="see incoming webhooks")
    return list(IncomingWebhook.objects.filter(channel=channel).select_related("bot"))


@transaction.atomic
def hook_revoke(*, actor: User, hook_id: object) -> IncomingWebhook:
    try:
        hook_uuid = uuid.UUID(str(hook_id))
    except ValueError:
        raise NotFound("Hook not found.") from None
    hook = IncomingWebhook.objects.select_related("channel").filter(pk=hook_uuid).first()
    if hook is None:
        raise NotFound("Hook not found.")
    base.check_owner_or_moderator(actor=actor, channel=hook.channel, what="revoke webhooks")
    if hook.revoked_at is None:
        hook.revoked_at = timezone.now()
        hook.save(update_fields=["revoked_at"])
    return hook


def hook_find(token: str) -> IncomingWebhook:
    """The live hook ``token`` names (as the service: the caller is nobody yet). An unknown
    or revoked token, or a deactivated bot, is a 404: the URL names nothing."""
    with rls.acting_as_service():
        hook = (
            IncomingWebhook.objects.select_related("bot", "channel")
            .filter(token_hash=token_hash(token), revoked_at__isnull=True)
            .first()
        )
    if hook is None or not hook.bot.is_active:
        raise NotFound("No such hook.", code="no_hook")
    return hook


def hook_text(payload: dict[str, Any]) -> str:
    """The message a Slack-style payload makes: ``text``, then each ``attachments[].text``
    (or its ``fallback``) on lines of their own."""
    text = payload.get("text", "")
    if text is not None and not isinstance(text, str):
        raise _field_error("text", "Must be a string.")
    parts = [text.strip()] if text else []
    attachments = payload.get("attachments", [])
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list) or len(attachments) > 20:
        raise _field_error("attachments", "A list of at most 20 attachments.")
    for attachment in attachments:
        if not isinstance(attachment, dict):
            raise _field_error("attachments", "Each attachment is an object.")
        part = attachment.get("text") or attachment.get("fallback") or ""
        if not isinstance(part, str):
            raise _field_error("attachments", "An attachment's text must be a string.")
        if part.strip():
            parts.append(part.strip())
    content = "\n\n".join(parts)
    if not content:
        raise _field_error("text", "Give text (or attachments with text).", code="empty")
    if len(content) > MAX_CONTENT_LENGTH:
        raise _field_error("text", f"At most {MAX_CONTENT_LENGTH} characters in all.")
    return content


def _sender(payload: dict[str, Any]) -> tuple[str, str]:
    name = payload.get("username") or ""
    if not isinstance(name, str) or len(name) > SENDER_NAME_MAX:
        raise _field_error("username", f"A string of at most {SENDER_NAME_MAX} characters.")
    name = " ".join(name.split())
    icon = payload.get("icon_emoji") or ""
    if not isinstance(icon, str) or len(icon) > 64:
        raise _field_error("icon_emoji", "An emoji shortcode such as :robot_face:.")
    shown = ""
    if icon:
        shown = emoji.emojize(icon.strip(), language="alias")
        if shown == icon.strip() or not emoji.is_emoji(shown):
            raise _field_error("icon_emoji", "An emoji shortcode such as :robot_face:.")
    return name, shown


def hook_post(*, hook: IncomingWebhook, payload: object) -> Message:
    """Post a hook's payload to its channel as its bot, under the bot's own rights and
    budgets (the row-level security context is the bot's)."""
    _check_rate(ratelimit.HOOK, str(hook.pk), "posts to this hook")
    if not isinstance(payload, dict):
        raise _field_error("payload", "A JSON object.")
    content = hook_text(payload)
    sender_name, sender_icon = _sender(payload)
    if hook.channel.is_archived:
        raise PermissionDenied("This channel is archived and read-only.", code="archived")
    with rls.acting_as_user(hook.bot):
        message, _ = chat_services.message_create(
            user=hook.bot,
            channel_id=hook.channel_id,
            content=content,
            sender_name=sender_name,
            sender_icon=sender_icon,
        )
    return message


def scope_allows(token: BotToken, channel_ids: Iterable[Any]) -> bool:
    """Whether a token limited to some channels may act in all of ``channel_ids``."""
    if not token.channel_ids:
        return True
    allowed = set(token.channel_ids)
    return all(str(channel_id) in allowed for channel_id in channel_ids)
