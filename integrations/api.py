"""/api/bots/, /api/webhooks/, /api/webhooks/outgoing/ and /api/hooks/<token>/
(docs/integrations.md, docs/api.md)."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.roles import acting_user
from chat import events
from chat.exceptions import ChatError, ValidationError
from chatsite.api_errors import error_responses
from chatsite.api_parsers import StrictJSONParser
from integrations import outgoing, services
from integrations.models import BotToken, IncomingWebhook, OutgoingWebhook

# --- Shapes -------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def bot_data(bot: User) -> dict[str, Any]:
    return {**events.author_data(bot), "is_active": bot.is_active}


def token_data(row: BotToken, token: str | None = None) -> dict[str, Any]:
    data = {
        "id": str(row.pk),
        "bot_id": str(row.bot_id),
        "name": row.name,
        "channel_ids": row.channel_ids,
        "created_at": _iso(row.created_at),
        "revoked_at": _iso(row.revoked_at),
    }
    if token is not None:
        data["token"] = token
    return data


def hook_data(request: Request, hook: IncomingWebhook, token: str | None = None) -> dict[str, Any]:
    data = {
        "id": str(hook.pk),
        "channel_id": str(hook.channel_id),
        "name": hook.name,
        "bot": events.author_data(hook.bot),
        "created_at": _iso(hook.created_at),
        "revoked_at": _iso(hook.revoked_at),
    }
    if token is not None:
        data["token"] = token
        data["url"] = request.build_absolute_uri(f"/api/hooks/{token}/")
    return data


class BotShape(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    is_bot = serializers.BooleanField()
    is_active = serializers.BooleanField()


class TokenShape(serializers.Serializer):
    id = serializers.UUIDField()
    bot_id = serializers.CharField()
    name = serializers.CharField()
    channel_ids = serializers.ListField(child=serializers.UUIDField())
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    token = serializers.CharField(required=False, help_text="Only in the answer that made it.")


class HookShape(serializers.Serializer):
    id = serializers.UUIDField()
    channel_id = serializers.UUIDField()
    name = serializers.CharField()
    bot = BotShape()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    token = serializers.CharField(required=False, help_text="Only in the answer that made it.")
    url = serializers.URLField(required=False, help_text="Only in the answer that made it.")


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise ValidationError("A JSON object.", fields={"body": ["A JSON object."]})
    return data


# --- Bots ---------------------------------------------------------------------------------

BOT_ID = OpenApiParameter("bot_id", str, OpenApiParameter.PATH)


class BotListView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="List bots (moderators)",
        responses={200: BotShape(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response([bot_data(bot) for bot in services.bot_list(actor=acting_user(request))])

    @extend_schema(
        tags=["integrations"],
        summary="Make a bot (moderators)",
        request=inline_serializer(
            "BotCreate",
            {"username": serializers.CharField(), "display_name": serializers.CharField()},
        ),
        responses={201: BotShape, **error_responses(400, 401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        bot = services.bot_create(
            actor=acting_user(request),
            username=data.get("username"),
            display_name=data.get("display_name", ""),
        )
        return Response(bot_data(bot), status=status.HTTP_201_CREATED)


class BotDetailView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="A bot (moderators)",
        parameters=[BOT_ID],
        responses={200: BotShape, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, bot_id: str) -> Response:
        return Response(bot_data(services.bot_get(actor=acting_user(request), bot_id=bot_id)))

    @extend_schema(
        tags=["integrations"],
        summary="Deactivate a bot: its tokens and hooks stop working (moderators)",
        parameters=[BOT_ID],
        responses={204: None, **error_responses(400, 401, 403, 404)},
    )
    def delete(self, request: Request, bot_id: str) -> Response:
        actor = acting_user(request)
        services.bot_deactivate(actor=actor, bot=services.bot_get(actor=actor, bot_id=bot_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotTokenListView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="A bot's API tokens (moderators)",
        parameters=[BOT_ID],
        responses={200: TokenShape(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, bot_id: str) -> Response:
        actor = acting_user(request)
        bot = services.bot_get(actor=actor, bot_id=bot_id)
        return Response([token_data(row) for row in services.bot_token_list(actor=actor, bot=bot)])

    @extend_schema(
        tags=["integrations"],
        summary="Make an API token for a bot; the token is shown only in this answer",
        parameters=[BOT_ID],
        request=inline_serializer(
            "BotTokenCreate",
            {
                "name": serializers.CharField(required=False),
                "channel_ids": serializers.ListField(child=serializers.UUIDField(), required=False),
            },
        ),
        responses={201: TokenShape, **error_responses(400, 401, 403, 404, 429)},
    )
    def post(self, request: Request, bot_id: str) -> Response:
        actor = acting_user(request)
        bot = services.bot_get(actor=actor, bot_id=bot_id)
        data = _body(request)
        row, token = services.bot_token_create(
            actor=actor, bot=bot, name=data.get("name", ""), channel_ids=data.get("channel_ids")
        )
        return Response(token_data(row, token), status=status.HTTP_201_CREATED)


class BotTokenDetailView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="Revoke a bot's API token (moderators)",
        parameters=[BOT_ID, OpenApiParameter("token_id", str, OpenApiParameter.PATH)],
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, bot_id: str, token_id: str) -> Response:
        actor = acting_user(request)
        bot = services.bot_get(actor=actor, bot_id=bot_id)
        services.bot_token_revoke(actor=actor, bot=bot, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Incoming webhooks: managing them -----------------------------------------------------


class HookListView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="A channel's incoming webhooks (its owners and moderators)",
        parameters=[OpenApiParameter("channel_id", uuid.UUID, required=True)],
        responses={200: HookShape(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        channel_id = request.query_params.get("channel_id")
        if not channel_id:
            raise ValidationError("Required.", fields={"channel_id": ["Required."]})
        hooks = services.hook_list(actor=acting_user(request), channel_id=channel_id)
        return Response([hook_data(request, hook) for hook in hooks])

    @extend_schema(
        tags=["integrations"],
        summary="Make an incoming webhook; its URL is shown only in this answer",
        request=inline_serializer(
            "HookCreate", {"channel_id": serializers.UUIDField(), "name": serializers.CharField()}
        ),
        responses={201: HookShape, **error_responses(400, 401, 403, 404, 429)},
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        if data.get("channel_id") is None:
            raise ValidationError("Required.", fields={"channel_id": ["Required."]})
        hook, token = services.hook_create(
            actor=acting_user(request), channel_id=data["channel_id"], name=data.get("name")
        )
        return Response(hook_data(request, hook, token), status=status.HTTP_201_CREATED)


class HookDetailView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="Revoke an incoming webhook (the channel's owners and moderators)",
        parameters=[OpenApiParameter("hook_id", str, OpenApiParameter.PATH)],
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, hook_id: str) -> Response:
        services.hook_revoke(actor=acting_user(request), hook_id=hook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Incoming webhooks: posting -----------------------------------------------------------


class PayloadTooLarge(ChatError, status_code=413, code="too_large"):
    """A hook body over CHAT_HOOK_MAX_BYTES."""


def _read_limited(request: Request) -> bytes:
    """The body, refused with 413 if it is over CHAT_HOOK_MAX_BYTES: by its Content-Length
    before anything is read, or once one byte past the limit has been read."""
    limit = settings.CHAT_HOOK_MAX_BYTES
    too_large = PayloadTooLarge(f"The body is over {limit} bytes.")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body


def _payload(request: Request, body: bytes) -> Any:
    """A JSON body, or Slack's form body with the JSON in its ``payload`` field."""
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=20, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise ValidationError("Unreadable form.", fields={"payload": ["Unreadable."]}) from None
        values = form.get("payload")
        if not values:
            raise ValidationError("Required.", fields={"payload": ["Required."]})
        return _json(values[0].encode("utf-8"), field="payload")
    if content_type != "application/json":
        raise ValidationError(
            "Send application/json, or a form with a payload field.",
            code="unsupported_media_type",
            fields={"body": ["Unsupported content type."]},
        )
    return _json(body, field="body")


def _json(raw: bytes, *, field: str) -> Any:
    try:
        return StrictJSONParser().parse(io.BytesIO(raw))
    except (ParseError, json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"Malformed JSON: {getattr(error, 'detail', error)}"
        raise ValidationError(detail, code="parse_error", fields={field: [detail]}) from None


class HookPostView(APIView):
    """The token in the URL is the only credential: no session, no CSRF, no bearer."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["integrations"],
        summary="Post to a channel through an incoming webhook (Slack-compatible)",
        parameters=[OpenApiParameter("token", str, OpenApiParameter.PATH)],
        request=inline_serializer(
            "HookPayload",
            {
                "text": serializers.CharField(required=False),
                "username": serializers.CharField(required=False),
                "icon_emoji": serializers.CharField(required=False),
                "attachments": serializers.ListField(child=serializers.DictField(), required=False),
            },
        ),
        responses={
            (200, "text/plain"): str,
            **error_responses(400, 403, 404, 413, 429),
        },
    )
    def post(self, request: Request, token: str) -> HttpResponse:
        hook = services.hook_find(token)
        payload = _payload(request, _read_limited(request))
        services.hook_post(hook=hook, payload=payload)
        return HttpResponse("ok", content_type="text/plain; charset=utf-8")


# --- Outgoing webhooks ---------------------------------------------------------------------


def outgoing_hook_data(hook: OutgoingWebhook, secret: str | None = None) -> dict[str, Any]:
    data = {
        "id": str(hook.pk),
        "channel_id": str(hook.channel_id),
        "name": hook.name,
        "url": hook.url,
        "trigger_words": hook.trigger_words,
        "bot": events.author_data(hook.bot),
        "created_at": _iso(hook.created_at),
        "revoked_at": _iso(hook.revoked_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


class OutgoingHookShape(serializers.Serializer):
    id = serializers.UUIDField()
    channel_id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.URLField()
    trigger_words = serializers.ListField(child=serializers.CharField())
    bot = BotShape()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    secret = serializers.CharField(
        required=False, help_text="Only in the answers that made or rotated it."
    )


HOOK_ID = OpenApiParameter("hook_id", str, OpenApiParameter.PATH)


class OutgoingHookListView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="A channel's outgoing webhooks (its owners and moderators)",
        parameters=[OpenApiParameter("channel_id", uuid.UUID, required=True)],
        responses={200: OutgoingHookShape(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        channel_id = request.query_params.get("channel_id")
        if not channel_id:
            raise ValidationError("Required.", fields={"channel_id": ["Required."]})
        hooks = outgoing.outgoing_hook_list(actor=acting_user(request), channel_id=channel_id)
        return Response([outgoing_hook_data(hook) for hook in hooks])

    @extend_schema(
        tags=["integrations"],
        summary="Make an outgoing webhook; its secret is shown in this answer",
        request=inline_serializer(
            "OutgoingHookCreate",
            {
                "channel_id": serializers.UUIDField(),
                "name": serializers.CharField(),
                "url": serializers.URLField(),
                "trigger_words": serializers.ListField(
                    child=serializers.RegexField(r"^\S{1,100}$"), max_length=20, required=False
                ),
            },
        ),
        responses={201: OutgoingHookShape, **error_responses(400, 401, 403, 404, 429)},
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        if data.get("channel_id") is None:
            raise ValidationError("Required.", fields={"channel_id": ["Required."]})
        hook, secret = outgoing.outgoing_hook_create(
            actor=acting_user(request),
            channel_id=data["channel_id"],
            name=data.get("name"),
            url=data.get("url"),
            trigger_words=data.get("trigger_words"),
        )
        return Response(outgoing_hook_data(hook, secret), status=status.HTTP_201_CREATED)


class OutgoingHookDetailView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="Revoke an outgoing webhook (the channel's owners and moderators)",
        parameters=[HOOK_ID],
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, hook_id: str) -> Response:
        outgoing.outgoing_hook_revoke(actor=acting_user(request), hook_id=hook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OutgoingHookRotateView(APIView):
    @extend_schema(
        tags=["integrations"],
        summary="Give an outgoing webhook a new secret, shown in this answer",
        parameters=[HOOK_ID],
        request=None,
        responses={200: OutgoingHookShape, **error_responses(401, 403, 404, 429)},
    )
    def post(self, request: Request, hook_id: str) -> Response:
        hook, secret = outgoing.outgoing_hook_rotate(actor=acting_user(request), hook_id=hook_id)
        return Response(outgoing_hook_data(hook, secret))


__all__ = [
    "BotDetailView",
    "BotListView",
    "BotTokenDetailView",
    "BotTokenListView",
    "HookDetailView",
    "HookListView",
    "HookPostView",
    "OutgoingHookDetailView",
    "OutgoingHookListView",
    "OutgoingHookRotateView",
]
