"""Bot tokens and incoming webhooks in the admin: moderators see them (never a token, only
its hash is kept) and revoke them; a new token for a bot is shown once, in the message after
the action (docs/integrations.md)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.roles import acting_user
from chat.admin_access import ModeratorAccessMixin, moderation_action
from integrations import services
from integrations.models import BotToken, IncomingWebhook


@admin.register(BotToken)
class BotTokenAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = ("bot", "name", "channel_ids", "created_by", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("bot", "created_by")
    search_fields = ("name", "bot__username")
    fields = ("bot", "name", "channel_ids", "created_by", "created_at", "revoked_at")
    actions = ("revoke_selected", "new_token_for_the_same_bots")

    revoke_selected = moderation_action(
        "Revoke the selected tokens",
        lambda actor, row: services.bot_token_revoke(actor=actor, bot=row.bot, token_id=row.pk),
        done="Revoked {count} token(s).",
        only={"revoked_at__isnull": True},
    )

    @admin.action(
        description="Make a new token for each selected token's bot", permissions=["moderate"]
    )
    def new_token_for_the_same_bots(
        self, request: HttpRequest, queryset: QuerySet[BotToken]
    ) -> None:
        actor = acting_user(request)
        for bot in {row.bot for row in queryset.select_related("bot")}:
            _, token = services.bot_token_create(actor=actor, bot=bot, name="admin")
            self.message_user(
                request, f"New token for {bot} (shown only now): {token}", messages.SUCCESS
            )


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = ("name", "channel", "bot", "created_by", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("channel", "bot", "created_by")
    search_fields = ("name", "channel__name")
    fields = ("name", "channel", "bot", "created_by", "created_at", "revoked_at")
    actions = ("revoke_selected",)

    revoke_selected = moderation_action(
        "Revoke the selected hooks",
        lambda actor, hook: services.hook_revoke(actor=actor, hook_id=hook.pk),
        done="Revoked {count} hook(s).",
        only={"revoked_at__isnull": True},
    )
