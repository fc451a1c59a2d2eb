"""What a new message sets off for outgoing webhooks (docs/integrations.md, "Outgoing
webhooks"); the message service calls ``outgoing_schedule`` for every message it creates.

Sending a message costs nothing more while its channel has no outgoing hook: the channels
that have one are kept per process as a set, read again at most every
``CHAT_OUTGOING_WEBHOOK_REFRESH`` seconds (and at once in the process that changed a hook), so
the common case is one set lookup. Only a message in a channel with hooks reads them, and
each hook it fires gets a delivery row and a worker task, in the message's own transaction.
This module imports no service, so the message service can import it.
"""

from __future__ import annotations

import threading
import time
import uuid

from django.conf import settings

from accounts.models import User
from chat.models import Message
from chatsite import rls
from integrations.models import OutgoingDelivery, OutgoingWebhook


def trigger_word(hook: OutgoingWebhook, content: str) -> str | None:
    """The trigger word a message starts with ("" for a hook without any, which fires on
    every message), or None when the hook does not fire. A word matches the message's first
    word exactly, as Slack and Mattermost match them."""
    if not hook.trigger_words:
        return ""
    first = content.split(maxsplit=1)[0] if content.strip() else ""
    for word in hook.trigger_words:
        if first == word:
            return str(word)
    return None


# --- The message service's check ---------------------------------------------------------


class _HookedChannels:
    """The ids of channels with a live outgoing hook, as this process last read them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: frozenset[uuid.UUID] = frozenset()
        self.read_at = float("-inf")

    def get(self) -> frozenset[uuid.UUID]:
        now = time.monotonic()
        if now - self.read_at < settings.CHAT_OUTGOING_WEBHOOK_REFRESH:
            return self.ids
        with self.lock:
            if now - self.read_at >= settings.CHAT_OUTGOING_WEBHOOK_REFRESH:
                with rls.acting_as_service():
                    self.ids = frozenset(
                        OutgoingWebhook.objects.filter(revoked_at__isnull=True)
                        .values_list("channel_id", flat=True)
                        .distinct()
                    )
                self.read_at = time.monotonic()
            return self.ids

    def forget(self) -> None:
        self.read_at = float("-inf")


_hooked = _HookedChannels()


def forget_hooked_channels() -> None:
    """Read the hooked channels again at the next message (after a hook changed)."""
    _hooked.forget()


def outgoing_schedule(*, message: Message, author: User) -> list[OutgoingDelivery]:
    """Called by the message service in the transaction that created ``message``: one
    delivery and one worker task for each live hook of its channel that the message fires.
    Messages of bots fire none (a hook's answer would otherwise fire hooks again)."""
    if author.is_bot or message.channel_id not in _hooked.get():
        return []
    from integrations import tasks  # the tasks module imports this one

    deliveries = []
    with rls.acting_as_service():
        hooks = OutgoingWebhook.objects.filter(
            channel_id=message.channel_id, revoked_at__isnull=True
        )
        for hook in hooks:
            word = trigger_word(hook, message.content)
            if word is None:
                continue
            delivery = OutgoingDelivery.objects.create(
                hook=hook, message=message, trigger_word=word
            )
            tasks.schedule_delivery(delivery.pk)
            deliveries.append(delivery)
    return deliveries
