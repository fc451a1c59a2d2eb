"""Input validation shared by both doors: the REST views and the WebSocket consumer.

Both run these serializers before calling a service, so a frame and a request are held to
the same rules and answered with the same field errors.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat import events
from chat.models import Message
from chat.validators import MAX_CONTENT_LENGTH, clean_content, content_problem

# At most this many files on one message (files.services.MAX_ATTACHMENTS says the same).
MAX_ATTACHMENTS = 10


class ContentField(serializers.Field):
    """Message text (chat.validators): no C0 controls but tab and newline, a visible
    character, 1-4000 code points; bidirectional controls are stripped."""

    default_error_messages = {"invalid": "{problem}"}

    def to_internal_value(self, data: Any) -> str:
        problem = content_problem(data)
        if problem:
            self.fail("invalid", problem=problem)
        return clean_content(str(data))

    def to_representation(self, value: Any) -> str:
        return str(value)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string (DRF's own also turns an integer into a UUID)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class MessageCreateSerializer(serializers.Serializer):
    channel_id = StrictUUIDField()
    content = ContentField(
        required=False,
        default="",
        help_text="May be empty ('' or left out) when the message carries attachments.",
    )
    client_id = StrictUUIDField(required=False, allow_null=True, default=None)
    parent_id = StrictUUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Reply in this message's thread (a top-level message of the same channel).",
    )
    attachment_ids = serializers.ListField(
        child=StrictUUIDField(),
        required=False,
        default=list,
        max_length=MAX_ATTACHMENTS,
        help_text=f"Your uploads (POST /api/chat/uploads/) that no message carries yet, at most "
        f"{MAX_ATTACHMENTS}.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # Empty content is allowed beside attachments only (the service checks the rest).
        if isinstance(data, dict) and data.get("content") == "" and data.get("attachment_ids"):
            data = {key: value for key, value in data.items() if key != "content"}
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 3,
        "maxLength": MAX_CONTENT_LENGTH,
        "pattern": r"^/(me|shrug|topic|invite|leave)([ \t\n].*)?$",
    }
)
class CommandTextField(ContentField):
    """A slash command as typed: checked like message content, then by ``chat.commands``."""


class CommandSerializer(serializers.Serializer):
    """A slash command (chat.commands): ``POST /api/chat/channels/{id}/commands/``."""

    text = CommandTextField(help_text="The command as typed, e.g. `/topic Release day`.")
    client_id = StrictUUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For /me and /shrug: as a message's client_id (a repeat returns the original).",
    )
    parent_id = StrictUUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For /me and /shrug: post in this message's thread.",
    )


class CommandFrameSerializer(CommandSerializer):
    """``command.run`` frames: the REST body plus the channel's id."""

    channel_id = StrictUUIDField()


class EmojiField(serializers.CharField):
    """One Unicode emoji, as a string (the service checks that it is one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class ReactionSerializer(serializers.Serializer):
    emoji = EmojiField()


class ReactionFrameSerializer(ReactionSerializer):
    """``reaction.add`` / ``reaction.remove`` frames: the REST body plus the message's id."""

    message_id = StrictUUIDField()


class PreviewSerializer(serializers.Serializer):
    content = ContentField()
    channel_id = StrictUUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The channel it would go to (decides whether @channel and @here apply).",
    )


class MessageEditSerializer(serializers.Serializer):
    content = ContentField()


class MessageSerializer(serializers.Serializer):
    """A message in its one public shape (``chat.events.message_data``)."""

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return events.message_data(instance)
