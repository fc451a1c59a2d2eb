"""/api/chat/messages/: history, posting, editing and deleting messages (docs/api.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import selectors, services
from chat.api import common
from chat.api.serializers import (
    MessageListQuerySerializer,
    MessagePageSerializer,
    MessageShapeSerializer,
)
from chat.serializers import MessageCreateSerializer, MessageEditSerializer, MessageSerializer
from chatsite.api_errors import error_responses


class MessageListView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="A page of a channel's top-level history, or of a thread, oldest first",
        operation_id="chat_messages_list",
        parameters=[MessageListQuerySerializer],
        responses={200: MessagePageSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        query = common.validated(MessageListQuerySerializer, request.query_params)
        if "thread" in query:
            messages, has_more = selectors.thread_page(user=acting_user(request), **query)
        else:
            messages, has_more = selectors.message_page(user=acting_user(request), **query)
        return Response(
            {"results": MessageSerializer(messages, many=True).data, "has_more": has_more}
        )

    @extend_schema(
        tags=["messages"],
        summary="Post a message (with parent_id: a reply); a repeated client_id returns the "
        "original with 200",
        request=MessageCreateSerializer,
        responses={
            201: MessageShapeSerializer,
            200: MessageShapeSerializer,
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = common.validated(MessageCreateSerializer, request.data)
        message, created = services.message_create(user=acting_user(request), **data)
        return common.created_or_found(MessageSerializer(message).data, created=created)


class MessageDetailView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="One live message",
        parameters=[common.MESSAGE_ID],
        responses={200: MessageShapeSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, message_id: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        message = selectors.message_get(user=acting_user(request), message_id=message_uuid)
        return Response(MessageSerializer(message).data)

    @extend_schema(
        tags=["messages"],
        summary="Edit one's own message",
        parameters=[common.MESSAGE_ID],
        request=MessageEditSerializer,
        responses={200: MessageShapeSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def patch(self, request: Request, message_id: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        data = common.validated(MessageEditSerializer, request.data)
        message = services.message_edit(user=acting_user(request), message_id=message_uuid, **data)
        return Response(MessageSerializer(message).data)

    @extend_schema(
        tags=["messages"],
        summary="Delete (tombstone) one's own message; moderators any",
        parameters=[common.MESSAGE_ID],
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, message_id: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        services.message_delete(user=acting_user(request), message_id=message_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)
