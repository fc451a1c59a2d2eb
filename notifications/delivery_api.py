"""/api/notifications/: push subscriptions and notification settings (docs/api.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat.api import common
from chatsite.api_errors import error_responses
from notifications import delivery, push
from notifications.models import NotificationPreference, PushSubscription

SUBSCRIPTION_ID = OpenApiParameter(
    "subscription_id", str, OpenApiParameter.PATH, description="The subscription's id."
)


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=100, help_text="base64url P-256 public key.")
    auth = serializers.CharField(max_length=40, help_text="base64url 16-byte secret.")


class PushSubscriptionInputSerializer(serializers.Serializer):
    """The browser's ``PushSubscription.toJSON()``; ``expirationTime`` is accepted and unused."""

    endpoint = serializers.URLField(max_length=2000)
    keys = PushKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)


class PushSubscriptionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.URLField()
    created_at = serializers.DateTimeField()
    last_sent_at = serializers.DateTimeField(allow_null=True)


def subscription_data(subscription: PushSubscription) -> dict[str, Any]:
    return dict(PushSubscriptionSerializer(subscription).data)


class NotificationSettingsSerializer(serializers.Serializer):
    email_notifications = serializers.BooleanField(
        help_text="Email for DMs and mentions left unread while you are away."
    )
    push_public_key = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The server's VAPID key (applicationServerKey); null: push is off.",
    )


class NotificationSettingsUpdateSerializer(serializers.Serializer):
    email_notifications = serializers.BooleanField()


def settings_data(preference: NotificationPreference) -> dict[str, Any]:
    return {
        "email_notifications": preference.email_enabled,
        "push_public_key": push.public_key(),
    }


class PushSubscriptionListView(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Your devices subscribed to push notifications",
        request=None,
        responses={200: PushSubscriptionSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        rows = delivery.push_subscriptions_of(user)
        return Response([subscription_data(row) for row in rows])

    @extend_schema(
        tags=["notifications"],
        summary="Subscribe this device to push notifications; 200 if it already was",
        request=PushSubscriptionInputSerializer,
        responses={
            201: PushSubscriptionSerializer,
            200: PushSubscriptionSerializer,
            **error_responses(400, 401, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = common.validated(PushSubscriptionInputSerializer, request.data)
        subscription, created = delivery.push_subscription_add(
            user=acting_user(request),
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return common.created_or_found(subscription_data(subscription), created=created)


class PushSubscriptionDetailView(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Unsubscribe a device",
        parameters=[SUBSCRIPTION_ID],
        request=None,
        responses={204: None, **error_responses(401, 404, 429)},
    )
    def delete(self, request: Request, subscription_id: str) -> Response:
        delivery.push_subscription_remove(
            user=acting_user(request),
            subscription_id=common.path_uuid(subscription_id, what="Push subscription"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationSettingsView(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Your notification settings",
        request=None,
        responses={200: NotificationSettingsSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(settings_data(delivery.preference_for(acting_user(request))))

    @extend_schema(
        tags=["notifications"],
        summary="Change your notification settings",
        request=NotificationSettingsUpdateSerializer,
        responses={200: NotificationSettingsSerializer, **error_responses(400, 401, 429)},
    )
    def patch(self, request: Request) -> Response:
        data = common.validated(NotificationSettingsUpdateSerializer, request.data)
        preference = delivery.preference_update(
            user=acting_user(request), email_enabled=data["email_notifications"]
        )
        return Response(settings_data(preference))
