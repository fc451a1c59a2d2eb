"""/api/chat/dms/: open a direct message (docs/api.md, "Direct messages")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import services
from chat.api import common
from chat.api.serializers import ChannelDetailSerializer, DirectMessageCreateSerializer
from chatsite.api_errors import error_responses


class DirectMessageListView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Open the direct message with these people: 201 new, 200 if it exists",
        request=DirectMessageCreateSerializer,
        responses={
            201: ChannelDetailSerializer,
            200: ChannelDetailSerializer,
            **error_responses(400, 401, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = common.validated(DirectMessageCreateSerializer, request.data)
        channel, created = services.dm_open(user=acting_user(request), user_ids=data["user_ids"])
        return common.channel_detail(
            request,
            str(channel.pk),
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
