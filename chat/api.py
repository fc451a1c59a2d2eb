"""/api/chat/: channels, members, read markers and messages (docs/api.md).

Thin views: each parses its input with a serializer, calls one service (writes) or selector
(reads) and serializes the result. Domain errors from the services travel up to
``chatsite.api_errors.exception_handler``, which gives them the API's one error shape.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.models import User
from accounts.roles import acting_user
from chat import selectors, services
from chat.api_serializers import (
    ChannelCreateSerializer,
    ChannelDetailSerializer,
    ChannelSerializer,
    ListPageQuerySerializer,
    MemberAddSerializer,
    MemberSerializer,
    MessageListQuerySerializer,
    MessagePageSerializer,
    MessageShapeSerializer,
    ReadMarkerSerializer,
)
from chat.exceptions import NotFound
from chat.models import Channel
from chat.serializers import MessageCreateSerializer, MessageEditSerializer, MessageSerializer
from chat.validators import MAX_CONTENT_LENGTH, parse_uuid
from chatsite.api_errors import error_responses


class ContentFieldSchema(OpenApiSerializerFieldExtension):
    """drf-spectacular: message content is a non-blank string without C0 controls."""

    target_class = "chat.serializers.ContentField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CONTENT_LENGTH,
            # One character that is neither white space nor a control, none of the controls.
            "pattern": r"^[^\x00-\x08\x0b-\x1f]*[^\s\x00-\x08\x0b-\x1f][^\x00-\x08\x0b-\x1f]*$",
        }


class MemberAddSchema(OpenApiSerializerExtension):
    """drf-spectacular: a member is named by ``user_id`` or ``username``, exactly one."""

    target_class = "chat.api_serializers.MemberAddSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "oneOf": [{"required": ["user_id"]}, {"required": ["username"]}]}


def _path_uuid(value: str, *, what: str) -> uuid.UUID:
    """An id from the path; anything but a UUID names nothing, so it is a 404."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound(f"{what} not found.")
    return parsed


def _channel_for(user: User, channel_id: str) -> Channel:
    """The channel with ``is_member`` and ``unread_count`` for ``user``, or 404."""
    channel = (
        selectors.channel_list(user=user).filter(pk=_path_uuid(channel_id, what="Channel")).first()
    )
    if channel is None:
        raise NotFound("Channel not found.")
    return channel


def _channel_detail(request: Request, channel_id: str, *, status_code: int = 200) -> Response:
    """The channel as ``ChannelDetailSerializer`` shows it to the user asking."""
    channel = _channel_for(acting_user(request), channel_id)
    return Response(ChannelDetailSerializer(channel).data, status=status_code)


def _created_or_found(data: Any, *, created: bool) -> Response:
    """201 for a row just made, 200 for one that was there already (an idempotent repeat)."""
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _validated(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
    """The input checked by ``serializer_class``; a 400 naming the fields otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _list_page(request: Request) -> dict[str, Any]:
    return _validated(ListPageQuerySerializer, request.query_params)


def _paged(request: Request, data: Any, *, limit: int, next_cursor: str | None) -> Response:
    """A page of a list: the list itself, and a ``Link: <…>; rel="next"`` header unless it is
    the last page (RFC 8288; the body keeps its shape of a plain list)."""
    response = Response(data)
    if next_cursor is not None:
        query = urlencode({"limit": limit, "cursor": next_cursor})
        response["Link"] = f'<{request.path}?{query}>; rel="next"'
    return response


_LINK_HEADER = OpenApiParameter(
    "Link",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='`<url>; rel="next"`: the next page. Absent on the last page.',
)
_CHANNEL_ID = OpenApiParameter("channel_id", uuid.UUID, OpenApiParameter.PATH)
_MESSAGE_ID = OpenApiParameter("message_id", uuid.UUID, OpenApiParameter.PATH)

# --- Channels ------------------------------------------------------------------------------


class ChannelListView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Public channels and the private ones the user belongs to, a page at a time",
        operation_id="chat_channels_list",
        parameters=[ListPageQuerySerializer, _LINK_HEADER],
        responses={200: ChannelSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        page = _list_page(request)
        channels, next_cursor = selectors.channel_list_page(user=acting_user(request), **page)
        data = ChannelSerializer(channels, many=True).data
        return _paged(request, data, limit=page["limit"], next_cursor=next_cursor)

    @extend_schema(
        tags=["channels"],
        summary="Create a channel; its creator becomes its owner",
        request=ChannelCreateSerializer,
        responses={201: ChannelDetailSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request: Request) -> Response:
        data = _validated(ChannelCreateSerializer, request.data)
        channel = services.channel_create(user=acting_user(request), **data)
        return _channel_detail(request, str(channel.pk), status_code=status.HTTP_201_CREATED)


class ChannelDetailView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="One channel",
        parameters=[_CHANNEL_ID],
        responses={200: ChannelDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        return _channel_detail(request, channel_id)


class ChannelJoinView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Join a public channel",
        request=None,
        parameters=[_CHANNEL_ID],
        responses={200: ChannelDetailSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = _path_uuid(channel_id, what="Channel")
        services.channel_join(user=acting_user(request), channel_id=channel_uuid)
        return _channel_detail(request, channel_id)


class ChannelLeaveView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Leave a channel",
        request=None,
        parameters=[_CHANNEL_ID],
        responses={204: None, **error_responses(401, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = _path_uuid(channel_id, what="Channel")
        services.channel_leave(user=acting_user(request), channel_id=channel_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelMembersView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="The members of a channel, earliest first, a page at a time",
        operation_id="chat_channels_members_list",
        parameters=[_CHANNEL_ID, ListPageQuerySerializer, _LINK_HEADER],
        responses={200: MemberSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        channel_uuid = _path_uuid(channel_id, what="Channel")
        page = _list_page(request)
        members, next_cursor = selectors.channel_members_page(
            user=acting_user(request), channel_id=channel_uuid, **page
        )
        data = MemberSerializer(members, many=True).data
        return _paged(request, data, limit=page["limit"], next_cursor=next_cursor)

    @extend_schema(
        tags=["channels"],
        summary="Add a user (owners and moderators); 200 if they were in already",
        parameters=[_CHANNEL_ID],
        request=MemberAddSerializer,
        responses={
            201: MemberSerializer,
            200: MemberSerializer,
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = _path_uuid(channel_id, what="Channel")
        data = _validated(MemberAddSerializer, request.data)
        membership, created = services.channel_member_add(
            actor=acting_user(request),
            channel_id=channel_uuid,
            user=data["user"],
        )
        return _created_or_found(MemberSerializer(membership).data, created=created)


class ChannelReadView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Move the read marker forward to seq",
        parameters=[_CHANNEL_ID],
        request=ReadMarkerSerializer,
        responses={204: None, **error_responses(400, 401, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = _path_uuid(channel_id, what="Channel")
        data = _validated(ReadMarkerSerializer, request.data)
        services.channel_mark_read(
            user=acting_user(request), channel_id=channel_uuid, seq=data["seq"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Messages --------------------------------------------------------------------------------


class MessageListView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="A page of a channel's history, oldest first",
        operation_id="chat_messages_list",
        parameters=[MessageListQuerySerializer],
        responses={200: MessagePageSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _validated(MessageListQuerySerializer, request.query_params)
        messages, has_more = selectors.message_page(user=acting_user(request), **query)
        return Response(
            {"results": MessageSerializer(messages, many=True).data, "has_more": has_more}
        )

    @extend_schema(
        tags=["messages"],
        summary="Post a message; a repeated client_id returns the original with 200",
        request=MessageCreateSerializer,
        responses={
            201: MessageShapeSerializer,
            200: MessageShapeSerializer,
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(MessageCreateSerializer, request.data)
        message, created = services.message_create(user=acting_user(request), **data)
        return _created_or_found(MessageSerializer(message).data, created=created)


class MessageDetailView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="One live message",
        parameters=[_MESSAGE_ID],
        responses={200: MessageShapeSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, message_id: str) -> Response:
        message_uuid = _path_uuid(message_id, what="Message")
        message = selectors.message_get(user=acting_user(request), message_id=message_uuid)
        return Response(MessageSerializer(message).data)

    @extend_schema(
        tags=["messages"],
        summary="Edit one's own message",
        parameters=[_MESSAGE_ID],
        request=MessageEditSerializer,
        responses={200: MessageShapeSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def patch(self, request: Request, message_id: str) -> Response:
        message_uuid = _path_uuid(message_id, what="Message")
        data = _validated(MessageEditSerializer, request.data)
        message = services.message_edit(user=acting_user(request), message_id=message_uuid, **data)
        return Response(MessageSerializer(message).data)

    @extend_schema(
        tags=["messages"],
        summary="Delete (tombstone) one's own message; moderators any",
        parameters=[_MESSAGE_ID],
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, message_id: str) -> Response:
        message_uuid = _path_uuid(message_id, what="Message")
        services.message_delete(user=acting_user(request), message_id=message_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)
