"""/api/chat/mentions/: the mentions of the user asking, newest first (docs/api.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import events
from chat.api import common
from chat.api.serializers import ListPageQuerySerializer, MessageShapeSerializer
from chat.models import Channel
from chat.selectors.dms import dm_title
from chatsite.api_errors import error_responses
from notifications import selectors
from notifications.models import Mention


class MentionChannelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    title = serializers.CharField(help_text="A direct message is titled by its other members.")


class MentionSerializer(serializers.Serializer):
    """One mention as its user sees it."""

    id = serializers.CharField(help_text="Digits; also the list's cursor.")
    kind = serializers.ChoiceField(choices=Mention.Kind.choices)
    created_at = serializers.DateTimeField()
    unread = serializers.BooleanField(help_text="Its message is past the read marker.")
    channel = MentionChannelSerializer()
    message = MessageShapeSerializer()

    def to_representation(self, instance: Mention) -> dict[str, Any]:
        return mention_data(instance, viewer_id=self.context.get("viewer_id"))


def mention_data(mention: Mention, *, viewer_id: Any) -> dict[str, Any]:
    channel = mention.channel
    members = getattr(channel, "dm_members", None)
    title = dm_title(members, viewer_id) if channel.is_dm and members is not None else None
    return {
        "id": str(mention.pk),
        "kind": mention.kind,
        "created_at": mention.created_at.isoformat().replace("+00:00", "Z"),
        "unread": bool(getattr(mention, "unread", False)),
        "channel": {
            "id": str(channel.pk),
            "name": channel.name,
            "kind": channel.kind,
            "title": title or channel.title or channel.name,
        },
        "message": events.message_data(mention.message),
    }


class MentionListView(APIView):
    @extend_schema(
        tags=["mentions"],
        summary="The mentions of the user asking, newest first",
        description="Direct mentions, @channel, @here and every direct message, in channels "
        'the user belongs to. Pages by the `Link: <…>; rel="next"` header.',
        parameters=[ListPageQuerySerializer, common.LINK_HEADER],
        request=None,
        responses={200: MentionSerializer(many=True), **error_responses(400, 401, 429)},
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        query = common.list_page(request)
        page, after = selectors.mention_page(
            user=user, limit=query["limit"], cursor=query.get("cursor")
        )
        data = MentionSerializer(page, many=True, context=common.viewer(user)).data
        return common.paged(request, data, limit=query["limit"], next_cursor=after)
