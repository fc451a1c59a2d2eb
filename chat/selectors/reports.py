"""What a reporter saw: the reported message and a little context (docs/moderation.md,
"Reports")."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat.models import Message
from chat.selectors.messages import message_get_any

# Messages kept on each side of the reported one.
CONTEXT_SIZE = 2


def _shown(message: Message) -> dict[str, Any]:
    author = message.user
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "author_id": str(author.pk),
        "author_username": author.username,
        "author_display_name": author.display_name,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "content": message.content,
    }


def report_snapshot(*, user: User, message: Message) -> dict[str, Any]:
    """The message and up to ``CONTEXT_SIZE`` live messages before and after it in the same
    conversation (its thread for a reply, the channel's top level otherwise), read as
    ``user`` sees them: ``{message, before, after}``, each message with its author and text."""
    around = (
        Message.objects.filter(
            channel_id=message.channel_id, parent_id=message.parent_id, deleted_at__isnull=True
        )
        .exclude(pk=message.pk)
        .select_related("user")
    )
    before = list(around.filter(seq__lt=message.seq).order_by("-seq")[:CONTEXT_SIZE])
    after = list(around.filter(seq__gt=message.seq).order_by("seq")[:CONTEXT_SIZE])
    return {
        "message": _shown(message),
        "parent_id": str(message.parent_id) if message.parent_id else None,
        "before": [_shown(m) for m in reversed(before)],
        "after": [_shown(m) for m in after],
    }


def reportable_message(*, user: User, message_id: Any) -> Message:
    """A message the user can read (404 otherwise), with its author and channel."""
    return message_get_any(user=user, message_id=message_id, field="message_id")
