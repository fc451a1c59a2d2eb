"""Users in the moderation admin: moderators deactivate and reactivate, admins edit accounts.

``is_active`` is never edited by hand: the actions call ``accounts.services``, which also
revokes tokens, closes open WebSockets and writes the audit trail.

Rank holds here too (accounts.roles): an account of equal or higher rank is view-only to
anyone but a superuser (its form, its password change, the actions), and the role field
offers only the roles below the editor's own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from accounts import roles, services
from accounts.models import Invitation, User
from chat.admin_access import is_admin, is_moderator, moderation_action
from chat.exceptions import ChatError


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "display_name",
        "role",
        "is_bot",
        "is_active",
        "last_login",
    )
    list_filter = ("role", "is_bot", "is_active")
    search_fields = ("username", "email", "display_name")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "first_name", "last_name")}),
        ("Role and status", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "role", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ()
    actions = ("deactivate_selected", "reactivate_selected")

    # Roles, not Django's per-model permissions, decide access (chat/admin_access.py).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Admins change accounts below their rank, and their own; superusers any. Django's
        password change view asks this too, for the account whose password it would set."""
        if not is_admin(request):
            return False
        if obj is None:
            return True
        actor = roles.acting_user(request)
        return bool(obj.pk == actor.pk or roles.outranks(actor, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: messages keep their author

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["is_active", "is_staff", "last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly.append("is_superuser")
        if obj is not None and obj.pk == request.user.pk:
            readonly.append("role")  # nobody demotes themselves out of the admin
        return readonly

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        role = form.base_fields.get("role")
        if isinstance(role, forms.ChoiceField):
            allowed = set(roles.assignable_roles(roles.acting_user(request)))
            if obj is not None:
                allowed.add(obj.role)  # shown as it is; the form refuses other changes
            role.choices = [
                (value, label) for value, label in User.Role.choices if value in allowed
            ]
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = roles.acting_user(request)
        try:
            if change:
                original = User.objects.get(pk=obj.pk)
                if original.pk != actor.pk:
                    services.check_may_manage(actor=actor, user=original)
            if "role" in form.changed_data or not change:
                services.check_may_assign_role(actor=actor, role=obj.role)
        except ChatError as error:
            raise PermissionDenied(error.detail) from None
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Write only what the form changed, so a concurrent deactivation is never undone.
        concrete = {field.name for field in User._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete and name != "password"]
        if changed:
            obj.save(update_fields=changed)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        """Django's password form; a password set here ends every earlier session, token and
        socket of the account, as the user's own change does."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            if user.pk != request.user.pk:
                services.user_sign_out_everywhere(user=user)
        return response

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        if add or "role" not in form.changed_data:
            return super().construct_change_message(request, form, formsets, add)
        before, after = form.initial.get("role"), form.cleaned_data["role"]
        message = f"Changed role of {form.instance} from {before} to {after}."
        others = [name for name in form.changed_data if name != "role"]
        if others:
            message += f" Changed {', '.join(others)}."
        return message

    deactivate_selected = moderation_action(
        "Deactivate selected users (sign out everywhere)",
        lambda actor, user: services.user_deactivate(actor=actor, user=user),
        done="Deactivated {count} user(s); their sessions, tokens and sockets are closed.",
    )
    reactivate_selected = moderation_action(
        "Reactivate selected users",
        lambda actor, user: services.user_reactivate(actor=actor, user=user),
        done="Reactivated {count} user(s).",
    )


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["expires_at", "max_uses", "email"]
        help_texts = {
            "expires_at": "When the link stops working.",
            "max_uses": "How many accounts the link can make.",
            "email": "Optional: only this address may sign up with the link.",
        }


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitation links: moderators and admins make them (``accounts.services``, which shows
    the link once), see how much of each is used, and delete one to revoke it."""

    form = InvitationAddForm
    list_display = (
        "__str__",
        "created_by",
        "created_at",
        "expires_at",
        "uses",
        "max_uses",
        "email",
    )
    readonly_fields = ("created_by", "created_at", "uses")
    ordering = ("-created_at",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        days = settings.CHAT_INVITE_DAYS
        return {"expires_at": timezone.now() + timedelta(days=days), "max_uses": 1}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            invitation, token = services.invitation_create(
                actor=roles.acting_user(request),
                expires_at=form.cleaned_data["expires_at"],
                max_uses=form.cleaned_data["max_uses"],
                email=form.cleaned_data.get("email") or "",
            )
        except ChatError as error:
            raise PermissionDenied(error.detail) from None
        obj.pk = invitation.pk
        link = request.build_absolute_uri(reverse("web:invitation", kwargs={"token": token}))
        messages.success(request, f"Invitation link (shown only now; copy it and send it): {link}")

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        return HttpResponseRedirect(reverse("admin:accounts_invitation_changelist"))
