"""What the chat API views share: path ids, paging, 201-or-200, schema extensions."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from accounts import selectors as accounts_selectors
from accounts.models import User
from accounts.roles import acting_user
from chat import selectors
from chat.api.serializers import (
    ChannelDetailSerializer,
    ListPageQuerySerializer,
)
from chat.exceptions import NotFound
from chat.models import Channel
from chat.validators import MAX_CONTENT_LENGTH, parse_uuid


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

    target_class = "chat.api.serializers.MemberAddSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "oneOf": [{"required": ["user_id"]}, {"required": ["username"]}]}


def path_uuid(value: str, *, what: str) -> uuid.UUID:
    """An id from the path; anything but a UUID names nothing, so it is a 404."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound(f"{what} not found.")
    return parsed


def path_user(value: str) -> User:
    """A user from the path, by id; anything else names nobody, so it is a 404."""
    user = accounts_selectors.user_get(user_id=value)
    if user is None:
        raise NotFound("User not found.")
    return user


def channel_for(user: User, channel_id: str) -> Channel:
    """The channel with ``is_member`` and ``unread_count`` for ``user``, or 404."""
    channel_uuid = path_uuid(channel_id, what="Channel")
    channel = selectors.channel_shown_to(user=user, channel_id=channel_uuid)
    if channel is None:
        raise NotFound("Channel not found.")
    return channel


def channel_detail(request: Request, channel_id: str, *, status_code: int = 200) -> Response:
    """The channel as ``ChannelDetailSerializer`` shows it to the user asking."""
    user = acting_user(request)
    channel = channel_for(user, channel_id)
    data = ChannelDetailSerializer(channel, context=viewer(user)).data
    return Response(data, status=status_code)


def viewer(user: User) -> dict[str, Any]:
    """The serializer context of the channel shapes: who is looking."""
    return {"viewer_id": user.pk}


def created_or_found(data: Any, *, created: bool) -> Response:
    """201 for a row just made, 200 for one that was there already (an idempotent repeat)."""
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def validated(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
    """The input checked by ``serializer_class``; a 400 naming the fields otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def list_page(request: Request) -> dict[str, Any]:
    return validated(ListPageQuerySerializer, request.query_params)


def paged(
    request: Request,
    data: Any,
    *,
    limit: int,
    next_cursor: str | None,
    query: dict[str, str] | None = None,
) -> Response:
    """A page of a list: the list itself, and a ``Link: <…>; rel="next"`` header unless it is
    the last page (RFC 8288; the body keeps its shape of a plain list)."""
    response = Response(data)
    if next_cursor is not None:
        query_string = urlencode({**(query or {}), "limit": limit, "cursor": next_cursor})
        response["Link"] = f'<{request.path}?{query_string}>; rel="next"'
    return response


LINK_HEADER = OpenApiParameter(
    "Link",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='`<url>; rel="next"`: the next page. Absent on the last page.',
)
CHANNEL_ID = OpenApiParameter("channel_id", uuid.UUID, OpenApiParameter.PATH)
MESSAGE_ID = OpenApiParameter("message_id", uuid.UUID, OpenApiParameter.PATH)
USER_ID = OpenApiParameter(
    "user_id", str, OpenApiParameter.PATH, description="A user's id (digits)", pattern=r"^[0-9]+$"
)
