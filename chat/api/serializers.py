"""Serializers of the REST API alone (the WebSocket shares those in ``chat.serializers``).

Input serializers check types and sizes; the services check the rules (names, rights). The
output shapes are written out field by field so that the OpenAPI schema describes exactly
what the views return.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import User
from chat import events
from chat.models import REPORT_DETAIL_MAX_LENGTH, Channel, Membership, Report
from chat.search_syntax import MAX_QUERY_LENGTH
from chat.selectors import (
    DEFAULT_LIST_PAGE_SIZE,
    DEFAULT_PAGE_SIZE,
    MAX_LIST_PAGE_SIZE,
    MAX_PAGE_SIZE,
)
from chat.selectors.search import DEFAULT_SEARCH_PAGE_SIZE, MAX_SEARCH_PAGE_SIZE
from chat.validators import CHANNEL_NAME_RE, CHANNEL_NAME_RULE

# PostgreSQL bigint: larger numbers are refused here rather than by the database.
MAX_BIGINT = 2**63 - 1
# A channel's retention: up to a hundred years.
MAX_RETENTION_DAYS = 36500


def _iso(value: Any) -> str | None:
    """ISO 8601 in UTC with a Z, as ``chat.events`` writes times."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class StrictCharField(serializers.CharField):
    """A CharField that takes only strings (DRF's also turns numbers into text)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON's true or false only (DRF's also takes "yes", "0", 1 and more)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON number only (DRF's also takes numeric strings and booleans)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return int(super().to_internal_value(data))


@extend_schema_field({"oneOf": [{"type": "string", "maxLength": 20}, {"type": "integer"}]})
class UserIdField(serializers.CharField):
    """A user's id, as the API writes it (a string of digits) or as a number."""


# --- Channels ------------------------------------------------------------------------------


class AuthorSerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    is_bot = serializers.BooleanField(help_text="A bot account (docs/integrations.md).")


class ChannelSerializer(serializers.Serializer):
    """A channel as the list shows it, for the user asking (``context["viewer_id"]``)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    title = serializers.CharField(
        help_text="A direct message's title is its other members' names, for the user asking."
    )
    topic = serializers.CharField()
    is_private = serializers.BooleanField()
    is_member = serializers.BooleanField()
    last_seq = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    unread_mentions = serializers.IntegerField(
        help_text="Mentions (and direct messages) of the user asking past their read marker."
    )
    notify = serializers.ChoiceField(
        choices=Membership.Notify.choices,
        allow_null=True,
        help_text="The user's notification setting here; null when not a member.",
    )
    muted = serializers.BooleanField(help_text="Whether the user muted this channel.")
    members = AuthorSerializer(
        many=True, required=False, help_text="A direct message's members (direct messages only)."
    )

    def to_representation(self, instance: Channel) -> dict[str, Any]:
        return events.channel_data(instance, viewer_id=self.context.get("viewer_id"))


class ChannelDetailSerializer(ChannelSerializer):
    """The list shape, plus when it was created, whether it is archived, and its retention
    (read-only)."""

    created_at = serializers.DateTimeField()
    archived = serializers.BooleanField()
    retention_days = serializers.IntegerField(
        allow_null=True,
        help_text="The channel's own retention in days (0: forever); null: the site's.",
    )
    trimmed_seq = serializers.IntegerField(
        help_text="Retention deleted the messages up to this seq (0: none)."
    )

    def to_representation(self, instance: Channel) -> dict[str, Any]:
        return events.channel_detail_data(instance, viewer_id=self.context.get("viewer_id"))


class ChannelCreateSerializer(serializers.Serializer):
    name = StrictCharField(
        max_length=80,
        validators=[RegexValidator(CHANNEL_NAME_RE, CHANNEL_NAME_RULE)],
    )
    title = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    topic = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    is_private = StrictBooleanField(required=False, default=False)


# --- Members ---------------------------------------------------------------------------------


class MemberSerializer(serializers.Serializer):
    user = AuthorSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    joined_at = serializers.DateTimeField()

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return {
            "user": events.author_data(instance.user),
            "role": instance.role,
            "joined_at": _iso(instance.joined_at),
        }


class MemberAddSerializer(serializers.Serializer):
    """Who to add: ``user_id`` or ``username``, exactly one."""

    user_id = UserIdField(required=False, max_length=20, help_text="A user's id.")
    username = StrictCharField(required=False, max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("user_id" in attrs) == ("username" in attrs):
            raise serializers.ValidationError({"user_id": ["Give either user_id or username."]})
        if "user_id" in attrs:
            raw = attrs["user_id"]
            user_id = int(raw) if raw.isdigit() and int(raw) <= MAX_BIGINT else None
            user = User.objects.filter(pk=user_id).first() if user_id is not None else None
            field = "user_id"
        else:
            user = User.objects.filter(username=attrs["username"]).first()
            field = "username"
        if user is None:
            raise serializers.ValidationError({field: ["No such user."]})
        return {"user": user}


class MembershipUpdateSerializer(serializers.Serializer):
    """``PATCH .../membership/``: either field, or both."""

    notify = serializers.ChoiceField(choices=Membership.Notify.choices, required=False)
    muted = StrictBooleanField(required=False)


class MembershipSerializer(serializers.Serializer):
    """The user's own membership of a channel: their role and how they are notified."""

    channel_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    notify = serializers.ChoiceField(choices=Membership.Notify.choices)
    muted = serializers.BooleanField()
    last_read_seq = serializers.IntegerField()

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return {
            "channel_id": str(instance.channel_id),
            "role": instance.role,
            "notify": instance.notify,
            "muted": instance.muted,
            "last_read_seq": instance.last_read_seq,
        }


class ReadMarkerSerializer(serializers.Serializer):
    seq = StrictIntegerField(min_value=0, max_value=MAX_BIGINT)


# --- Messages --------------------------------------------------------------------------------


class ReactionSummarySerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.CharField())


class PreviewResultSerializer(serializers.Serializer):
    rendered = serializers.CharField()


@extend_schema_serializer(component_name="Message")
class AttachmentShapeSerializer(serializers.Serializer):
    """A file on a message, and the answer to an upload (``files.services.upload_data``)."""

    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The file's name, cleaned of paths and controls.")
    size = serializers.IntegerField(help_text="Bytes.")
    content_type = serializers.CharField(help_text="Read from the bytes, not from the name.")
    url = serializers.CharField(help_text="Download (checks that you may read the message).")
    thumbnail_url = serializers.CharField(
        allow_null=True, help_text="A WebP preview of an image; null for other files."
    )
    width = serializers.IntegerField(allow_null=True, help_text="An image's width in pixels.")
    height = serializers.IntegerField(allow_null=True)


class MessageShapeSerializer(serializers.Serializer):
    """The REST shape of a message (``chat.events.message_data``), for the schema."""

    id = serializers.UUIDField()
    channel_id = serializers.UUIDField()
    user_id = serializers.CharField()
    content = serializers.CharField(help_text="'' for a deleted message (tombstone).")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    seq = serializers.IntegerField(help_text="Its place in the channel, fixed at creation.")
    change_seq = serializers.IntegerField(help_text="The channel seq of its latest change.")
    client_id = serializers.UUIDField(allow_null=True)
    author = AuthorSerializer()
    rendered = serializers.CharField(
        help_text="The content as sanitized HTML, rendered by the server: what clients show. "
        "'' for a tombstone."
    )
    parent_id = serializers.UUIDField(
        allow_null=True, help_text="The thread's first message, for a reply; null otherwise."
    )
    reply_count = serializers.IntegerField(help_text="Live replies in its thread.")
    last_reply_at = serializers.DateTimeField(allow_null=True)
    reactions = ReactionSummarySerializer(many=True)
    action = serializers.BooleanField(
        help_text="A /me message: show it as an action of its author (“Alice waves”)."
    )
    attachments = AttachmentShapeSerializer(many=True, help_text="[] for a tombstone.")
    icon_emoji = serializers.CharField(
        allow_null=True,
        help_text="An emoji shortcode an incoming webhook's caller chose instead of the avatar.",
    )


class MessagePageSerializer(serializers.Serializer):
    results = MessageShapeSerializer(many=True)
    has_more = serializers.BooleanField()


class QuerySerializer(serializers.Serializer):
    """A query string: DRF reads an empty value (``limit=``) as "not given"; here it is a
    mistake, refused with the field named."""

    def to_internal_value(self, data: Any) -> Any:
        blank = [str(name) for name in self.fields if data.get(name, None) == ""]
        if blank:
            raise serializers.ValidationError({name: ["May not be blank."] for name in blank})
        return super().to_internal_value(data)


class ListPageQuerySerializer(QuerySerializer):
    """The query string of a list that pages (channels, members): a page size and a cursor."""

    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIST_PAGE_SIZE,
        required=False,
        default=DEFAULT_LIST_PAGE_SIZE,
    )
    cursor = serializers.CharField(
        required=False,
        max_length=200,
        help_text='Opaque: the cursor from the Link rel="next" header of the page before.',
    )


class MessageListQuerySerializer(QuerySerializer):
    """The query string of the history: one channel (or one thread), a page size and at most
    one cursor."""

    channel_id = serializers.UUIDField(
        required=False, help_text="The channel whose top-level messages to list."
    )
    thread = serializers.UUIDField(
        required=False,
        help_text="A top-level message: list its replies, oldest first (with limit and after).",
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_PAGE_SIZE, required=False, default=DEFAULT_PAGE_SIZE
    )
    before = serializers.UUIDField(
        required=False, help_text="A message id: the page of live messages just older."
    )
    after = serializers.UUIDField(
        required=False, help_text="A message id: the page of live messages just newer."
    )
    since_seq = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_BIGINT,
        help_text="Every change (creates, edits, tombstones) with change_seq above it.",
    )
    around = serializers.UUIDField(
        required=False,
        help_text=(
            "A message id: that message and the live messages around it, about half older "
            "and half newer; has_more says whether older ones remain."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("channel_id" in attrs) == ("thread" in attrs):
            message = "Give either channel_id or thread."
            raise serializers.ValidationError({"channel_id": [message]})
        if "thread" in attrs:
            extra = [name for name in ("before", "since_seq", "around") if name in attrs]
            if extra:
                message = "A thread pages with limit and after only."
                raise serializers.ValidationError({name: [message] for name in extra})
            return attrs
        cursors = [name for name in ("before", "after", "since_seq", "around") if name in attrs]
        if len(cursors) > 1:
            message = "Use at most one of before, after, since_seq and around."
            raise serializers.ValidationError({name: [message] for name in cursors})
        return attrs


# --- Conversations: direct messages, channel edits, people ---------------------------------


class ChannelUpdateSerializer(serializers.Serializer):
    """A channel's title, topic and retention; any may be left out. A blank title means the
    name."""

    title = StrictCharField(max_length=200, required=False, allow_blank=True)
    topic = StrictCharField(max_length=500, required=False, allow_blank=True)
    retention_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_RETENTION_DAYS,
        allow_null=True,
        required=False,
        help_text=(
            "Moderators only: delete messages older than this many days; 0 keeps them "
            "forever; null follows the site's CHAT_RETENTION_DAYS."
        ),
    )


class UserIdListField(serializers.ListField):
    """A list of user ids; a bad item is an error of the list itself (``user_ids``)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            return list(super().to_internal_value(data))
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):  # an item's error, keyed by its index
                raise serializers.ValidationError(
                    ["Each id is a user's id: a string of digits, or that number."]
                ) from None
            raise


class DirectMessageCreateSerializer(serializers.Serializer):
    """The other people of a direct message (naming oneself too changes nothing)."""

    user_ids = UserIdListField(
        child=UserIdField(max_length=20),
        min_length=1,
        max_length=50,
        help_text="User ids: 1-8 people besides you (a direct message has 2-9 people).",
    )


class UserSearchQuerySerializer(QuerySerializer):
    q = serializers.CharField(
        required=False,
        max_length=150,
        help_text="The start of a username or display name (any case). Absent: everyone.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=20, required=False, default=20)


class ChannelListQuerySerializer(ListPageQuerySerializer):
    """The channel list's query string: a page, and optionally one kind of conversation."""

    kind = serializers.ChoiceField(
        choices=Channel.Kind.choices,
        required=False,
        help_text="Only channels (`channel`) or only direct messages (`dm`).",
    )


# --- Search --------------------------------------------------------------------------------


class SearchQuerySerializer(QuerySerializer):
    """The query string of a search (docs/api.md "Search")."""

    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH,
        trim_whitespace=False,
        help_text=(
            'Words, "phrases", OR, -word, from:username, in:channel-name, has:link, '
            "before:YYYY-MM-DD, after:YYYY-MM-DD."
        ),
    )
    channel_id = serializers.UUIDField(required=False, help_text="Search one channel only.")
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SEARCH_PAGE_SIZE,
        required=False,
        default=DEFAULT_SEARCH_PAGE_SIZE,
    )
    cursor = serializers.CharField(
        required=False, max_length=500, help_text="`next` of the page before, same q."
    )


class SearchChannelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class SearchHitSerializer(serializers.Serializer):
    message = MessageShapeSerializer()
    channel = SearchChannelSerializer()
    headline = serializers.CharField(
        help_text="The content, HTML-escaped, with <mark> around the hits; long ones cut (…)."
    )


class SearchPageSerializer(serializers.Serializer):
    results = SearchHitSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The cursor of the next page.")


class ReportCreateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=Report.Reason.choices, help_text="Why: spam, abuse, harassment or other."
    )
    detail = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REPORT_DETAIL_MAX_LENGTH,
        trim_whitespace=False,
        help_text=f"Optional words for moderators, up to {REPORT_DETAIL_MAX_LENGTH} characters.",
    )


class ReportSerializer(serializers.Serializer):
    """A report as its reporter sees it."""

    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    detail = serializers.CharField()
    status = serializers.ChoiceField(choices=[("open", "open"), ("closed", "closed")])
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: Report) -> dict[str, Any]:
        return {
            "id": str(instance.pk),
            "message_id": str(instance.message_id),
            "reason": instance.reason,
            "detail": instance.detail,
            "status": "open" if instance.is_open else "closed",
            "created_at": _iso(instance.created_at),
        }


class CommandResultSerializer(serializers.Serializer):
    """What a slash command did."""

    command = serializers.ChoiceField(choices=["me", "shrug", "topic", "invite", "leave"])
    message = MessageShapeSerializer(
        allow_null=True, help_text="The message it posted (/me, /shrug); null otherwise."
    )
