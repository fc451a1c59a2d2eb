"""Bot tokens, incoming and outgoing webhooks in the admin: moderators see them (never a token, only
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
from integrations import destinations, outgoing, services
from integrations.models import (
    BotToken,
    IncomingWebhook,
    OutgoingDelivery,
    OutgoingWebhook,
)


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


class OutgoingHookAddForm(forms.ModelForm):
    """A new outgoing hook: channel, name, URL and trigger words (one per line or
    separated by spaces); the service makes its bot and secret."""

    trigger_words_text = forms.CharField(
        label="Trigger words",
        required=False,
        help_text="Separated by spaces; empty: every message fires the hook.",
    )

    class Meta:
        model = OutgoingWebhook
        fields = ("channel", "name", "url")

    def clean_channel(self) -> Any:
        channel = self.cleaned_data["channel"]
        if channel.is_archived:
            raise forms.ValidationError("This channel is archived.")
        if channel.is_dm:
            raise forms.ValidationError("Direct messages cannot have outgoing webhooks.")
        return channel

    def clean_url(self) -> Any:
        url = self.cleaned_data["url"]
        try:
            destinations.check(url)
        except destinations.Refused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url


@admin.register(OutgoingWebhook)
class OutgoingWebhookAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = ("name", "channel", "url", "bot", "created_by", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("channel", "bot", "created_by")
    search_fields = ("name", "channel__name", "url")
    fields = (
        "name",
        "channel",
        "url",
        "trigger_words",
        "bot",
        "created_by",
        "created_at",
        "revoked_at",
    )
    actions = ("revoke_selected", "rotate_secrets")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_moderator(request)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = OutgoingHookAddForm
            kwargs["fields"] = ("channel", "name", "url", "trigger_words_text")
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("channel", "name", "url", "trigger_words_text") if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Make the hook through the service; its secret is shown once, in the message."""
        words = form.cleaned_data.get("trigger_words_text", "").split()
        hook, secret = outgoing.outgoing_hook_create(
            actor=acting_user(request),
            channel_id=obj.channel_id,
            name=obj.name,
            url=obj.url,
            trigger_words=words,
        )
        obj.pk, obj.bot, obj.secret = hook.pk, hook.bot, hook.secret
        obj.trigger_words = hook.trigger_words
        obj.created_at, obj.created_by = hook.created_at, hook.created_by
        obj._state.adding = False
        self.message_user(
            request, f"The hook's secret (shown only now): {secret}", messages.SUCCESS
        )

    revoke_selected = moderation_action(
        "Revoke the selected hooks",
        lambda actor, hook: outgoing.outgoing_hook_revoke(actor=actor, hook_id=hook.pk),
        done="Revoked {count} hook(s).",
        only={"revoked_at__isnull": True},
    )

    @admin.action(description="Give the selected hooks new secrets", permissions=["moderate"])
    def rotate_secrets(self, request: HttpRequest, queryset: QuerySet[OutgoingWebhook]) -> None:
        actor = acting_user(request)
        for hook in queryset.filter(revoked_at__isnull=True):
            _, secret = outgoing.outgoing_hook_rotate(actor=actor, hook_id=hook.pk)
            self.message_user(
                request, f"New secret of {hook} (shown only now): {secret}", messages.SUCCESS
            )


@admin.register(OutgoingDelivery)
class OutgoingDeliveryAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    """The delivery log, read-only; rows older than CHAT_OUTGOING_WEBHOOK_LOG_DAYS go."""

    list_display = (
        "created_at",
        "hook",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "finished_at",
    )
    list_filter = ("status", "hook", "created_at")
    list_select_related = ("hook",)
    search_fields = ("hook__name", "last_error")
    date_hierarchy = "created_at"
    fields = (
        "hook",
        "message",
        "trigger_word",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "last_attempt_at",
        "finished_at",
    )
