"""Who may do what in the admin, by role, and how admin actions call the services.

The admin's permissions follow ``User.role`` rather than Django's per-model permissions:
moderators and admins (the staff) view the chat models and run the moderation actions; only
admins change user accounts. Members are not staff and never get past the admin's login page.
Changes to messages, channels and users go through the services (``chat.services``,
``accounts.services``), never through a hand-edited form, so the live events, the seq and
the audit trail stay right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from accounts.models import User
from chat.exceptions import ChatError

AdminAction = Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Any]], None]


def is_moderator(request: HttpRequest) -> bool:
    return roles.is_moderator(request.user)


def is_admin(request: HttpRequest) -> bool:
    return roles.is_admin(request.user)


class ModeratorAccessMixin:
    """Moderators view; nobody adds, edits or deletes by hand; actions need ``moderate``."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> list[str] | tuple[str, ...]:
        # Rows change only through the services, so every field shown is read-only.
        fields: list[str] | tuple[str, ...] = getattr(self, "fields", None) or ()
        return fields


def run_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    change: Callable[[Any], object],
    *,
    done: str,
    nothing: str = "Nothing to change in the selection.",
) -> int:
    """Apply ``change`` to each object and tell the moderator what happened.

    Each service call runs in its own savepoint, so one refusal (say, a message that is
    already tombstoned) skips that object only. ``done`` is a format string taking ``count``.
    """
    count = refused = 0
    for obj in objects:
        try:
            change(obj)
        except ChatError as error:
            refused += 1
            model_admin.message_user(request, f"{obj}: {error.detail}", messages.WARNING)
        else:
            count += 1
    if count:
        model_admin.message_user(request, done.format(count=count), messages.SUCCESS)
    elif not refused:
        model_admin.message_user(request, nothing, messages.WARNING)
    return count


def moderation_action(
    description: str,
    change: Callable[[User, Any], object],
    *,
    done: str,
    nothing: str = "Nothing to change in the selection.",
    only: dict[str, object] | None = None,
) -> AdminAction:
    """An admin action for moderators that calls ``change(actor, obj)`` (a service) for each
    selected object (those matching the lookups ``only``, if given), through ``run_action``."""

    @admin.action(description=description, permissions=["moderate"])
    def action(
        model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> None:
        actor = roles.acting_user(request)
        objects = queryset.filter(**only) if only else queryset
        run_action(
            model_admin,
            request,
            objects,
            lambda obj: change(actor, obj),
            done=done,
            nothing=nothing,
        )

    return action
