"""What the worker does for outgoing webhooks (docs/integrations.md, "Outgoing webhooks"):
send one message to one hook, retry it with back-off, post the hook's answer back, and
prune the delivery log.

A delivery keeps its own count of attempts: a timeout, a connection error or a 5xx answer
queues the next attempt after ``CHAT_OUTGOING_WEBHOOK_RETRY_DELAY * 2^(n-1)`` seconds until
``CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS`` have been made; any other answer, or a destination
that is no longer allowed, ends it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import timedelta
from typing import Any

import structlog
import urllib3
from django.conf import settings
from django.utils import timezone

from chat import events
from chat import services as chat_services
from chat.exceptions import ChatError
from chatsite import rls
from integrations import destinations, outgoing, services
from integrations.models import OutgoingDelivery, OutgoingWebhook
from worker.registry import background_task, enqueue, enqueue_after

logger = structlog.get_logger("chatsite.integrations")

SIGNATURE_HEADER = "X-Chatsite-Signature"
TIMESTAMP_HEADER = "X-Chatsite-Timestamp"
MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_LENGTH = 200
USER_AGENT = "chatsite-webhook/1"
# What a recorded error may not carry: the hook's secret is never in it, and URLs with
# their query strings are cut to the host.
_URL_RE = re.compile(r"(https?://[^/\s?#]+)[^\s]*")


def signature(secret: str, body: bytes) -> str:
    """The value of X-Chatsite-Signature for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(hook: OutgoingWebhook, delivery: OutgoingDelivery, now: float) -> dict[str, Any]:
    message = delivery.message
    return {
        "token": hook.secret,
        "timestamp": int(now),
        "trigger_word": delivery.trigger_word,
        "channel": {"id": str(message.channel_id), "name": message.channel.name},
        "message": events.message_data(message),
        "hook": {"id": str(hook.pk), "name": hook.name},
    }


def _scrub(error: str, secret: str) -> str:
    text = _URL_RE.sub(r"\1/…", error.replace(secret, "[secret]"))
    text = " ".join(text.split())
    return text[:MAX_ERROR_LENGTH]


def schedule_delivery(delivery_id: int) -> None:
    enqueue(deliver_outgoing, delivery_id)


def _finish(delivery: OutgoingDelivery, status: str, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.status = status
    update = ["status", "attempts", "last_attempt_at", *fields]
    if status != OutgoingDelivery.Status.PENDING:
        delivery.finished_at = timezone.now()
        update.append("finished_at")
    delivery.save(update_fields=sorted(set(update)))


@background_task(max_attempts=1)
def deliver_outgoing(delivery_id: int) -> dict[str, Any]:
    """One attempt at one delivery; queues the next attempt itself when it may retry."""
    delivery = (
        OutgoingDelivery.objects.select_related("hook__bot", "message__user", "message__channel")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != OutgoingDelivery.Status.PENDING:
        return {"status": "gone"}
    hook = delivery.hook
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    if hook.revoked_at is not None or not hook.bot.is_active:
        _finish(delivery, OutgoingDelivery.Status.FAILED, last_error="The hook was revoked.")
        return {"status": "failed"}
    if delivery.message.deleted_at is not None:
        _finish(delivery, OutgoingDelivery.Status.FAILED, last_error="The message was deleted.")
        return {"status": "failed"}
    try:
        target = destinations.parse(hook.url)
        address = destinations.resolve(target)
    except destinations.Refused as refused:
        _finish(delivery, OutgoingDelivery.Status.FAILED, last_error=f"Refused: {refused}")
        logger.warning("outgoing_webhook.refused", hook_id=str(hook.pk), delivery_id=delivery_id)
        return {"status": "failed"}
    now = time.time()
    body = json.dumps(payload(hook, delivery, now), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(hook.secret, body),
        TIMESTAMP_HEADER: str(int(now)),
    }
    try:
        answer = destinations.post(
            target,
            address,
            body=body,
            headers=headers,
            timeout=settings.CHAT_OUTGOING_WEBHOOK_TIMEOUT,
            max_answer=MAX_ANSWER_BYTES,
        )
    except urllib3.exceptions.HTTPError as error:
        timed_out = isinstance(error, urllib3.exceptions.TimeoutError) and not isinstance(
            error,
            urllib3.exceptions.NewConnectionError,  # a subclass, but not a timeout
        )
        kind = "Timed out" if timed_out else "Failed"
        return _retry_or_fail(delivery, hook, f"{kind}: {type(error).__name__}: {error}", None)
    if answer.status >= 500:
        return _retry_or_fail(delivery, hook, f"HTTP {answer.status}", answer.status)
    if not 200 <= answer.status < 300:
        _finish(
            delivery,
            OutgoingDelivery.Status.FAILED,
            last_status_code=answer.status,
            last_error=f"HTTP {answer.status}",
        )
        return {"status": "failed", "http_status": answer.status}
    _finish(
        delivery, OutgoingDelivery.Status.DELIVERED, last_status_code=answer.status, last_error=""
    )
    posted = _post_answer(hook, answer)
    return {"status": "delivered", "http_status": answer.status, "answered": posted}


def _retry_or_fail(
    delivery: OutgoingDelivery, hook: OutgoingWebhook, error: str, status: int | None
) -> dict[str, Any]:
    fields = {"last_error": _scrub(error, hook.secret), "last_status_code": status}
    if delivery.attempts >= settings.CHAT_OUTGOING_WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery, OutgoingDelivery.Status.FAILED, **fields)
        logger.warning(
            "outgoing_webhook.failed", hook_id=str(hook.pk), delivery_id=delivery.pk, final=True
        )
        return {"status": "failed", "http_status": status}
    _finish(delivery, OutgoingDelivery.Status.PENDING, **fields)
    delay = settings.CHAT_OUTGOING_WEBHOOK_RETRY_DELAY * 2 ** (delivery.attempts - 1)
    enqueue_after(timedelta(seconds=delay), deliver_outgoing, delivery.pk)
    logger.info(
        "outgoing_webhook.retry", hook_id=str(hook.pk), delivery_id=delivery.pk, in_seconds=delay
    )
    return {"status": "pending", "http_status": status}


def _post_answer(hook: OutgoingWebhook, answer: destinations.Answer) -> bool:
    """Post a JSON ``{"text": ...}`` answer to the channel as the hook's bot. Anything else
    (no body, not JSON, no text, a text the message rules refuse) is ignored."""
    if not answer.body.strip() or "json" not in answer.content_type.lower():
        return False
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(data, dict) or not data.get("text"):
        return False
    try:
        content = services.hook_text(data)
        sender_name, sender_icon = services._sender(data)
        with rls.acting_as_user(hook.bot):
            chat_services.message_create(
                user=hook.bot,
                channel_id=hook.channel_id,
                content=content,
                sender_name=sender_name,
                sender_icon=sender_icon,
            )
    except ChatError as refused:
        logger.info("outgoing_webhook.answer_refused", hook_id=str(hook.pk), code=refused.code)
        return False
    return True


@background_task(max_attempts=2, retry_delay=60)
def prune_outgoing_deliveries() -> dict[str, int]:
    """Registered as a periodic task (integrations.apps)."""
    return {"deleted": outgoing.deliveries_prune()}
