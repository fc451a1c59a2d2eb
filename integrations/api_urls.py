"""/api/bots/, /api/webhooks/ (incoming), /api/webhooks/outgoing/ and /api/hooks/<token>/.
Each path answers with and without its trailing slash (no redirect)."""

from django.urls import re_path

from integrations import api

_BOT = r"(?P<bot_id>[^/]+)"

urlpatterns = [
    re_path(r"^bots/?$", api.BotListView.as_view(), name="api-bots"),
    re_path(rf"^bots/{_BOT}/?$", api.BotDetailView.as_view(), name="api-bot"),
    re_path(rf"^bots/{_BOT}/tokens/?$", api.BotTokenListView.as_view(), name="api-bot-tokens"),
    re_path(
        rf"^bots/{_BOT}/tokens/(?P<token_id>[^/]+)/?$",
        api.BotTokenDetailView.as_view(),
        name="api-bot-token",
    ),
    re_path(r"^webhooks/outgoing/?$", api.OutgoingHookListView.as_view(), name="api-outhooks"),
    re_path(
        r"^webhooks/outgoing/(?P<hook_id>[^/]+)/?$",
        api.OutgoingHookDetailView.as_view(),
        name="api-outhook",
    ),
    re_path(
        r"^webhooks/outgoing/(?P<hook_id>[^/]+)/rotate/?$",
        api.OutgoingHookRotateView.as_view(),
        name="api-outhook-rotate",
    ),
    re_path(r"^webhooks/?$", api.HookListView.as_view(), name="api-webhooks"),
    re_path(r"^webhooks/(?P<hook_id>[^/]+)/?$", api.HookDetailView.as_view(), name="api-webhook"),
    re_path(r"^hooks/(?P<token>[^/]+)/?$", api.HookPostView.as_view(), name="api-hook-post"),
]
