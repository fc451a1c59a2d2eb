"""``GET /api/``: an index of the API, JSON for programs and the browsable API for people."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# The sections of the API and where their documentation lives (docs/api.md).
SECTIONS = {
    "auth": "/api/auth/",
    "token": "/api/auth/token/",
    "me": "/api/auth/me/",
    "channels": "/api/chat/channels/",
    "direct_messages": "/api/chat/dms/",
    "messages": "/api/chat/messages",
    "uploads": "/api/chat/uploads/",
    "users": "/api/users/",
    "push_subscriptions": "/api/notifications/push-subscriptions/",
    "notification_settings": "/api/notifications/settings/",
    "websocket": "/ws/chat/",
    "schema": "/api/schema/",
    "docs": "/api/docs/",
    "redoc": "/api/redoc/",
}


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class ApiIndexView(APIView):
    """The sections of the chatsite API, the OpenAPI schema and its viewers."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["api"],
        summary="An index of the API: its sections, the schema and the docs",
        auth=[],
        responses={
            200: inline_serializer(
                "ApiIndex",
                {name: serializers.CharField() for name in SECTIONS},
            )
        },
    )
    def get(self, request: Request) -> Response:
        return Response(SECTIONS)
