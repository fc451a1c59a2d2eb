"""The moderation admin: messages, channels and the audit log (docs/moderation.md).

Every page runs under the moderator's row-level security context (set by
``chatsite.rls.RowLevelSecurityMiddleware`` from the session user). Rows are never saved from
a form here: the actions and the member inline call ``chat.services``.

Direct messages are private to their members, moderators and admins included: the admin lists
channels and their messages only (and row-level security hides the rest in PostgreSQL), also
from a moderator who is in a direct message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, Count, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts.models import User
from accounts.roles import acting_user
from chat import services
from chat.admin_access import ModeratorAccessMixin, is_moderator, moderation_action
from chat.exceptions import ChatError
from chat.models import AuditEntry, Channel, Membership, Message, MessageRevision, Report

admin.site.site_header = "chatsite moderation"
admin.site.site_title = "chatsite moderation"
admin.site.index_title = "Moderation"

EXCERPT_LENGTH = 80


class _DateSetFilter(admin.SimpleListFilter):
    """Whether the date field ``field`` is set: ``yes``, ``no`` (labelled ``unset_label``,
    ``set_label``), or either."""

    field: str
    unset_label: str
    set_label: str

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", self.unset_label), ("yes", self.set_label)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


class DeletedFilter(_DateSetFilter):
    title, parameter_name = "status", "deleted"
    field, unset_label, set_label = "deleted_at", "Live", "Tombstoned"


class ArchivedFilter(_DateSetFilter):
    title, parameter_name = "archived", "archived"
    field, unset_label, set_label = "archived_at", "Open", "Archived"


class ChannelFilter(admin.RelatedFieldListFilter):
    """The messages' channel filter, offering channels only (never direct messages)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False,
            ordering=ordering,
            limit_choices_to={"kind": Channel.Kind.CHANNEL},
        )


class AuthorFilter(admin.RelatedOnlyFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "author"


class MessageRevisionInline(ModeratorAccessMixin, admin.TabularInline):
    model = MessageRevision
    fields = ("change_seq", "kind", "actor", "created_at", "content")
    ordering = ("change_seq",)
    extra = 0
    can_delete = False
    verbose_name = "earlier version"
    verbose_name_plural = "edit history (content before each change)"


@admin.register(Message)
class MessageAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = (
        "excerpt",
        "channel",
        "author",
        "created_at",
        "edited_at",
        "deleted",
        "seq",
    )
    list_filter = (
        ("channel", ChannelFilter),
        ("user", AuthorFilter),
        "created_at",
        DeletedFilter,
    )
    search_fields = ("content", "user__username", "user__display_name")
    list_select_related = ("channel", "user")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = (
        "id",
        "channel",
        "user",
        "content",
        "created_at",
        "edited_at",
        "deleted_at",
        "seq",
        "change_seq",
        "client_id",
    )
    inlines = (MessageRevisionInline,)
    actions = ("tombstone_selected", "restore_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return (
            super()
            .get_queryset(request)
            .filter(channel__kind=Channel.Kind.CHANNEL)
            .select_related("channel", "user")
        )

    @admin.display(description="message")
    def excerpt(self, obj: Message) -> str:
        if obj.is_deleted:
            return "(tombstoned)"
        text = " ".join(obj.content.split())
        return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"

    @admin.display(description="author", ordering="user__username")
    def author(self, obj: Message) -> str:
        return obj.user.username

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj: Message) -> bool:
        return obj.is_deleted

    tombstone_selected = moderation_action(
        "Tombstone selected messages",
        lambda actor, message: services.message_tombstone_by_moderator(
            moderator=actor, message_id=message.pk
        ),
        only={"deleted_at__isnull": True},
        done="Tombstoned {count} message(s).",
        nothing="The selected messages are tombstoned already.",
    )
    restore_selected = moderation_action(
        "Restore selected tombstoned messages",
        lambda actor, message: services.message_restore(moderator=actor, message_id=message.pk),
        only={"deleted_at__isnull": False},
        done="Restored {count} message(s).",
        nothing="None of the selected messages is tombstoned.",
    )


class MembershipInlineForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "role")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Moving a membership to another person would be a removal and an addition.
            self.fields["user"].disabled = True

    def clean_user(self) -> User:
        user: User = self.cleaned_data["user"]
        if self.instance.pk is None and not user.is_active:
            raise forms.ValidationError("This user is deactivated.")
        return user


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    fields = ("user", "role", "joined_at", "last_read_seq")
    readonly_fields = ("joined_at", "last_read_seq")
    autocomplete_fields = ("user",)
    ordering = ("joined_at",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user", "channel")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)


@admin.register(Channel)
class ChannelAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "title",
        "is_private",
        "member_count",
        "archived",
        "last_seq",
        "created_at",
    )
    list_filter = ("is_private", ArchivedFilter)
    search_fields = ("name", "title", "topic")
    ordering = ("name",)
    fields = (
        "name",
        "title",
        "topic",
        "is_private",
        "created_by",
        "created_at",
        "archived_at",
        "last_seq",
        "retention_days",
        "trimmed_seq",
    )
    inlines = (MembershipInline,)
    actions = ("archive_selected", "unarchive_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        channels = super().get_queryset(request).filter(kind=Channel.Kind.CHANNEL)
        return channels.annotate(member_count=Count("memberships"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only the member inline is editable; the channel's own fields are read-only.
        return is_moderator(request)

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_count)

    @admin.display(description="archived", boolean=True, ordering="archived_at")
    def archived(self, obj: Channel) -> bool:
        return obj.is_archived

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> list[str] | tuple[str, ...]:
        # The retention is the one field moderators set here (through the service).
        return [field for field in self.fields if field != "retention_days"]

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        # Never write the channel row from the form, and saving a stale last_seq would hand
        # out seq values twice: the retention goes through the service, which audits it.
        if change and "retention_days" in form.changed_data:
            try:
                services.channel_update(
                    actor=acting_user(request),
                    channel_id=obj.pk,
                    retention_days=form.cleaned_data["retention_days"],
                )
            except ChatError as error:
                self.message_user(request, error.detail, level=messages.ERROR)
        return None

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Apply the member inline through the services (events, rights), not by saving rows."""
        channel = form.instance
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.channel_member_remove(
                actor=acting_user(request), channel_id=channel.pk, user=membership.user
            )
        for membership in formset.new_objects:
            services.channel_member_add(
                actor=acting_user(request), channel_id=channel.pk, user=membership.user
            )
            if membership.role != Membership.Role.MEMBER:
                services.channel_member_set_role(
                    actor=acting_user(request),
                    channel_id=channel.pk,
                    user=membership.user,
                    role=membership.role,
                )
        for membership, changed in formset.changed_objects:
            if "role" in changed:
                services.channel_member_set_role(
                    actor=acting_user(request),
                    channel_id=channel.pk,
                    user=membership.user,
                    role=membership.role,
                )

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        """A readable audit line for member changes, e.g. "Added bob to #general as member."."""
        channel = form.instance
        lines: list[str] = []
        for formset in formsets or ():
            lines += [f"Added {m.user} to {channel} as {m.role}." for m in formset.new_objects]
            lines += [
                f"Made {m.user} {m.role} of {channel}."
                for m, changed in formset.changed_objects
                if "role" in changed
            ]
            lines += [f"Removed {m.user} from {channel}." for m in formset.deleted_objects]
        return " ".join(lines)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if not message:
            return None  # a save that changed nothing is not a moderation action
        return super().log_change(request, obj, message)

    archive_selected = moderation_action(
        "Archive selected channels (read-only)",
        lambda actor, channel: services.channel_archive(moderator=actor, channel_id=channel.pk),
        done="Archived {count} channel(s).",
    )
    unarchive_selected = moderation_action(
        "Unarchive selected channels",
        lambda actor, channel: services.channel_unarchive(moderator=actor, channel_id=channel.pk),
        done="Unarchived {count} channel(s).",
    )


@admin.register(AuditEntry)
class AuditEntryAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    """Who did what to which message, user or channel, and when (read-only)."""

    list_display = ("action_time", "user", "kind", "target", "what")
    list_filter = (
        "action_time",
        ("user", admin.RelatedOnlyFieldListFilter),
        ("content_type", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("object_repr", "change_message", "user__username")
    list_select_related = ("user", "content_type")
    date_hierarchy = "action_time"
    ordering = ("-action_time",)
    fields = ("action_time", "user", "kind", "object_id", "target", "what")

    @admin.display(description="on", ordering="content_type")
    def kind(self, obj: AuditEntry) -> str:
        return str(getattr(obj.content_type, "name", ""))

    @admin.display(description="which", ordering="object_repr")
    def target(self, obj: AuditEntry) -> str:
        return obj.object_repr

    @admin.display(description="what happened")
    def what(self, obj: AuditEntry) -> str:
        return obj.get_change_message() or obj.get_action_flag_display()


class ReportStatusFilter(_DateSetFilter):
    title, parameter_name = "status", "status"
    field, unset_label, set_label = "resolved_at", "Open", "Closed"


def _when(iso: object) -> str:
    """A snapshot's ISO time as the admin shows times, in the site's time zone."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso or "")
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _snapshot_rows(report: Report) -> list[tuple[str, dict[str, Any]]]:
    snapshot = report.snapshot or {}
    rows = [("context", entry) for entry in snapshot.get("before", [])]
    if snapshot.get("message"):
        rows.append(("reported", snapshot["message"]))
    rows += [("context", entry) for entry in snapshot.get("after", [])]
    return rows


# The buttons on a report's page: the queue's actions, in words for one report.
REPORT_BUTTONS = (
    ("tombstone_selected", "Tombstone the message"),
    ("deactivate_authors_selected", "Deactivate the author"),
    ("dismiss_selected", "Dismiss the report"),
)


@admin.register(Report)
class ReportAdmin(ModeratorAccessMixin, admin.ModelAdmin):
    """The queue of members' reports: open first, newest first (docs/moderation.md,
    "Reports").

    The message and its context come from the report's snapshot, never from a join with the
    message or its channel: row-level security hides direct messages from moderators, and a
    join would hide the report with them.
    """

    list_display = (
        "created_at",
        "status",
        "reason",
        "where",
        "author",
        "reported_excerpt",
        "reporter",
        "resolution",
    )
    list_display_links = ("created_at", "reported_excerpt")
    list_filter = (
        ReportStatusFilter,
        "reason",
        "channel_kind",
        "resolution",
        "created_at",
    )
    search_fields = ("channel_label", "detail", "author__username", "reporter__username")
    list_select_related = ("author", "reporter", "resolved_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "status",
        "reason",
        "detail",
        "where",
        "author",
        "reporter",
        "created_at",
        "conversation",
        "message_id",
        "resolution",
        "resolved_by",
        "resolved_at",
    )
    readonly_fields = fields
    actions = ("tombstone_selected", "dismiss_selected", "deactivate_authors_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        open_first = Case(When(resolved_at__isnull=True, then=Value(0)), default=Value(1))
        reports = self.model._default_manager.annotate(open_first=open_first)
        return reports.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["open_first", "-created_at"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> list[str] | tuple[str, ...]:
        return self.fields

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        context = dict(extra_context or {})
        if self.has_moderate_permission(request):
            context["report_actions"] = REPORT_BUTTONS
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="status", ordering="open_first")
    def status(self, obj: Report) -> str:
        return "open" if obj.is_open else "closed"

    @admin.display(description="in", ordering="channel_label")
    def where(self, obj: Report) -> str:
        return obj.channel_label

    @admin.display(description="reported message")
    def reported_excerpt(self, obj: Report) -> str:
        text = " ".join(str(obj.snapshot.get("message", {}).get("content", "")).split())
        return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"

    @admin.display(description="the message and its context, as the reporter saw it")
    def conversation(self, obj: Report) -> str:
        rows = format_html_join(
            "",
            '<tr class="report-{}"><th scope="row">{}</th><td>{}</td><td>{}</td>'
            '<td class="report-text">{}</td></tr>',
            (
                (
                    kind,
                    "Reported" if kind == "reported" else "",
                    entry.get("author_username", ""),
                    _when(entry.get("created_at")),
                    entry.get("content", ""),
                )
                for kind, entry in _snapshot_rows(obj)
            ),
        )
        return format_html(
            '<table class="report-snapshot"><caption>{}</caption><thead><tr>'
            '<th scope="col"></th><th scope="col">author</th><th scope="col">sent</th>'
            '<th scope="col">text</th></tr></thead><tbody>{}</tbody></table>',
            f"In {obj.channel_label}" + (", in a thread" if obj.snapshot.get("parent_id") else ""),
            rows,
        )

    tombstone_selected = moderation_action(
        "Tombstone the reported messages (closes their reports)",
        lambda actor, report: services.report_tombstone_message(
            moderator=actor, report_id=report.pk
        ),
        only={"resolved_at__isnull": True},
        done="Tombstoned the message of {count} report(s).",
        nothing="The selected reports are closed already.",
    )
    dismiss_selected = moderation_action(
        "Dismiss selected reports",
        lambda actor, report: services.report_dismiss(moderator=actor, report_id=report.pk),
        only={"resolved_at__isnull": True},
        done="Dismissed {count} report(s).",
        nothing="The selected reports are closed already.",
    )
    deactivate_authors_selected = moderation_action(
        "Deactivate the authors of the reported messages (closes their reports)",
        lambda actor, report: services.report_deactivate_author(
            moderator=actor, report_id=report.pk
        ),
        only={"resolved_at__isnull": True},
        done="Deactivated the author of {count} report(s).",
        nothing="The selected reports are closed already.",
    )
