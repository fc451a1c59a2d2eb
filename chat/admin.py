from django.contrib import admin

from chat.models import Channel, Membership, Message


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("joined_at", "last_read_seq")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "is_private", "created_at", "archived_at", "last_seq")
    list_filter = ("is_private", "archived_at")
    search_fields = ("name", "title", "topic")
    readonly_fields = ("last_seq", "created_at")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("channel", "user", "role", "joined_at", "last_read_seq")
    list_filter = ("role",)
    search_fields = ("channel__name", "user__username")
    autocomplete_fields = ("user",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("channel", "user", "excerpt", "seq", "created_at", "edited_at", "deleted_at")
    list_filter = ("channel", "deleted_at")
    search_fields = ("content", "user__username")
    list_select_related = ("channel", "user")
    readonly_fields = ("seq", "change_seq", "created_at", "edited_at", "deleted_at", "client_id")

    @admin.display(description="content")
    def excerpt(self, obj: Message) -> str:
        return obj.content[:80] if obj.content else "(deleted)"
