"""Bot tokens and incoming webhooks in the admin: moderators see them (never a token, only
its hash is kept) and revoke them; a new token for a bot is shown once, in the message after
the action (docs/integrations.md)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.roles import acting_user
from chat.admin_access import ModeratorAccessMixin, is_moderator, moderation_action
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


class HookAddForm(forms.ModelForm):
    """A new hook: its channel and name (the service makes its bot and token)."""

    class Meta:
        model = IncomingWebhook
        fields = ("channel", "name")

    def clean_channel(self) -> Any:
        channel = self.cleaned_data["channel"]
        if channel.is_archived:
            raise forms.ValidationError("This channel is archived.")
        if channel.is_dm:
            raise forms.ValidationError("Direct messages cannot have incoming webhooks.")
        return channel


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = ("name", "channel", "bot", "created_by", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("channel", "bot", "created_by")
    search_fields = ("name", "channel__name")
    fields = ("name", "channel", "bot", "created_by", "created_at", "revoked_at")
    actions = ("revoke_selected",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_moderator(request)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = HookAddForm
            kwargs["fields"] = ("channel", "name")
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("channel", "name") if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Make the hook through the service; its URL is shown once, in the message."""
        hook, token = services.hook_create(
            actor=acting_user(request), channel_id=obj.channel_id, name=obj.name
        )
        obj.pk, obj.bot, obj.token_hash = hook.pk, hook.bot, hook.token_hash
        obj.created_at, obj.created_by = hook.created_at, hook.created_by
        obj._state.adding = False
        url = request.build_absolute_uri(f"/api/hooks/{token}/")
        self.message_user(request, f"The hook's URL (shown only now): {url}", messages.SUCCESS)

    revoke_selected = moderation_action(
        "Revoke the selected hooks",
        lambda actor, hook: services.hook_revoke(actor=actor, hook_id=hook.pk),
        done="Revoked {count} hook(s).",
        only={"revoked_at__isnull": True},
    )
