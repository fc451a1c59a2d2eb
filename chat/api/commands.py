"""/api/chat/channels/{id}/commands/ (docs/api.md, "Slash commands")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import events, services
from chat.api import common
from chat.api.serializers import CommandResultSerializer
from chat.serializers import CommandSerializer
from chatsite.api_errors import error_responses


class ChannelCommandView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Run a slash command (/me, /shrug, /topic, /invite, /leave) in a channel",
        parameters=[common.CHANNEL_ID],
        request=CommandSerializer,
        responses={200: CommandResultSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        data = common.validated(CommandSerializer, request.data)
        result = services.command_run(user=acting_user(request), channel_id=channel_uuid, **data)
        message = events.message_data(result.message) if result.message is not None else None
        return Response({"command": result.command, "message": message})
