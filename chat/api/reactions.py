"""/api/chat/messages/{id}/reactions/ and /api/chat/preview/ (docs/api.md, "Reactions",
"Rich messages")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import services
from chat.api import common
from chat.api.serializers import MessageShapeSerializer, PreviewResultSerializer
from chat.serializers import MessageSerializer, PreviewSerializer, ReactionSerializer
from chatsite.api_errors import error_responses

EMOJI = OpenApiParameter("emoji", str, OpenApiParameter.PATH, description="The emoji, URL-encoded.")


class ReactionListView(APIView):
    @extend_schema(
        tags=["reactions"],
        summary="React to a message with one Unicode emoji; 200 if you already had",
        parameters=[common.MESSAGE_ID],
        request=ReactionSerializer,
        responses={
            201: MessageShapeSerializer,
            200: MessageShapeSerializer,
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request, message_id: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        data = common.validated(ReactionSerializer, request.data)
        message, created = services.reaction_add(
            user=acting_user(request), message_id=message_uuid, emoji=data["emoji"]
        )
        return common.created_or_found(MessageSerializer(message).data, created=created)


class ReactionDetailView(APIView):
    @extend_schema(
        tags=["reactions"],
        summary="Take back your reaction",
        parameters=[common.MESSAGE_ID, EMOJI],
        responses={204: None, **error_responses(401, 403, 404, 429)},
    )
    def delete(self, request: Request, message_id: str, emoji: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        services.reaction_remove(user=acting_user(request), message_id=message_uuid, emoji=emoji)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreviewView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Render content as a message would show it, without posting it",
        request=PreviewSerializer,
        responses={200: PreviewResultSerializer, **error_responses(400, 401, 404, 429)},
    )
    def post(self, request: Request) -> Response:
        data = common.validated(PreviewSerializer, request.data)
        rendered = services.message_preview(user=acting_user(request), **data)
        return Response({"rendered": rendered})
