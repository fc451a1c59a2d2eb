"""A bot's API token on the REST API (docs/integrations.md): ``Authorization: Bearer csb_…``.

It runs before simplejwt's class: a bearer value with the bot token prefix is this class's to
accept or refuse (a forged, revoked or deactivated one is a 401), anything else is left to the
JWT class. Like the JWT class it says who the database should see acting: the bot.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, permissions
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.roles import acting_user
from chat import selectors
from chat.exceptions import ChatError
from chatsite import rls
from integrations import services
from integrations.models import BotToken


class BotTokenAuthentication(authentication.BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, BotToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not token.startswith(services.BOT_TOKEN_PREFIX):
            return None
        found = services.bot_token_authenticate(token)
        if found is None:
            raise AuthenticationFailed("Invalid or revoked bot token.", code="token_not_valid")
        bot, row = found
        rls.set_current(rls.context_for(bot))
        return bot, row

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenChannelScope(permissions.BasePermission):
    """A bot token limited to some channels reaches only requests that name one of them (in
    the path, ``channel_id`` in the body or query, or a message of such a channel); other
    requests, those that span channels included, are a 403."""

    message = "This token is limited to other channels."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, BotToken) or not token.channel_ids:
            return True
        channel_id = _named_channel(request, view)
        return channel_id is not None and services.scope_allows(token, [channel_id])


def _named_channel(request: Request, view: Any) -> Any:
    kwargs = getattr(view, "kwargs", {}) or {}
    if "channel_id" in kwargs:
        return kwargs["channel_id"]
    if "message_id" in kwargs:
        try:
            message = selectors.message_get_any(
                user=acting_user(request), message_id=kwargs["message_id"]
            )
        except ChatError:
            return None
        return message.channel_id
    data = request.data if request.method not in ("GET", "HEAD", "OPTIONS") else {}
    value = data.get("channel_id") if isinstance(data, dict) else None
    return value if value is not None else request.query_params.get("channel_id")


class BotTokenScheme(OpenApiAuthenticationExtension):
    """drf-spectacular: a bot token is a bearer token too."""

    target_class = "integrations.authentication.BotTokenAuthentication"
    name = "botToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A bot's API token (csb_…)."}
