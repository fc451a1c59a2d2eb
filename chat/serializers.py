"""Input validation shared by both doors: the REST views and the WebSocket consumer.

Both run these serializers before calling a service, so a frame and a request are held to
the same rules and answered with the same field errors.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat import events
from chat.models import Message
from chat.validators import clean_content, content_problem


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
    content = ContentField()
    client_id = StrictUUIDField(required=False, allow_null=True, default=None)


class MessageEditSerializer(serializers.Serializer):
    content = ContentField()


class MessageSerializer(serializers.Serializer):
    """A message in its one public shape (``chat.events.message_data``)."""

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return events.message_data(instance)
