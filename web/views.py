"""The pages: thin views that call the chat selectors and services (docs/web.md).

The room renders its last 50 messages on the server; the modules in static/js/ then keep it
live over the WebSocket. Every form here also works without scripts (post, redirect, get).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from accounts import roles
from accounts.roles import acting_user
from chat import selectors, services
from chat.exceptions import ChatError, NotFound, RateLimited
from chat.models import Channel, Membership
from chat.validators import MAX_CONTENT_LENGTH
from chatsite import ratelimit
from web.forms import ChannelCreateForm, MessageForm, SignupForm
from web.templatetags.chat_ui import dm_label

ROOM_PAGE_SIZE = 50
GROUP_WITHIN = timedelta(minutes=5)  # static/js/timeline.js groups the same way


def _auth_retry_after(request: HttpRequest) -> int | None:
    """Spend one attempt of the client address's CHAT_AUTH_RATE budget (shared by every
    login, token and sign-up door); the seconds to wait when it is spent, else None."""
    return ratelimit.hit(ratelimit.AUTH, ratelimit.client_ip(request))


def _too_many_attempts(
    request: HttpRequest, template: str, context: dict[str, Any], wait: int
) -> HttpResponse:
    context = {**context, "rate_limited": True, "retry_after": wait}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


class RateLimitedLoginView(LoginView):
    """Django's login view, styled, with attempts per client IP capped by CHAT_AUTH_RATE."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = _auth_retry_after(request)
        if wait is not None:
            context = self.get_context_data(form=self.get_form())
            return _too_many_attempts(request, self.template_name, context, wait)
        return super().post(request, *args, **kwargs)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:channel_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        wait = _auth_retry_after(request)
        if wait is not None:
            return _too_many_attempts(request, "accounts/signup.html", {"form": form}, wait)
        if form.is_valid():
            form.save()
            # Sign in through the configured backends, as the login page would.
            user = authenticate(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
            assert user is not None
            login(request, user)
            messages.success(request, f"Welcome to chatsite, {user.username}.")
            return redirect("web:channel_list")
    status = 400 if form.is_bound else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


def _channel_list_page(
    request: HttpRequest, form: ChannelCreateForm, status: int = 200
) -> HttpResponse:
    # "Browse channels": direct messages are listed in the sidebar only (docs/web.md).
    channels = selectors.channel_list(user=acting_user(request), kind=Channel.Kind.CHANNEL)
    return render(
        request, "chat/channel_list.html", {"channels": channels, "form": form}, status=status
    )


@login_required
@require_http_methods(["GET"])
def channel_list(request: HttpRequest) -> HttpResponse:
    return _channel_list_page(request, ChannelCreateForm())


@login_required
@require_POST
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelCreateForm(request.POST)
    if form.is_valid():
        try:
            channel = services.channel_create(user=acting_user(request), **form.cleaned_data)
        except ChatError as error:
            _add_errors(form, error)
            response = _channel_list_page(request, form, status=error.status_code)
            if isinstance(error, RateLimited):
                response["Retry-After"] = str(error.retry_after)
            return response
        else:
            return redirect("web:room", name=channel.name)
    return _channel_list_page(request, form, status=400)


@login_required
@require_POST
def channel_join(request: HttpRequest, name: str) -> HttpResponse:
    channel = _visible_channel(request, name)
    try:
        services.channel_join(user=acting_user(request), channel_id=channel.pk)
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("web:channel_list")
    return redirect("web:room", name=channel.name)


@login_required
@require_http_methods(["GET", "POST"])
def room(request: HttpRequest, name: str) -> HttpResponse:
    channel = _visible_channel(request, name)
    form = MessageForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                message, _ = services.message_create(
                    user=acting_user(request),
                    channel_id=channel.pk,
                    content=form.cleaned_data["content"],
                    client_id=form.cleaned_data["client_id"],
                )
            except RateLimited as error:
                _add_errors(form, error)
                response = _room_page(request, channel, form, status=429)
                response["Retry-After"] = str(error.retry_after)
                return response
            except ChatError as error:
                _add_errors(form, error)
            else:
                return redirect(f"{request.path}#m-{message.pk}")
        return _room_page(request, channel, form, status=400)
    return _room_page(request, channel, form)


def _room_page(
    request: HttpRequest, channel: Channel, form: MessageForm, status: int = 200
) -> HttpResponse:
    user = acting_user(request)
    before = request.GET.get("before") or None
    # Read last_seq before the page: a change that lands in between is replayed by the
    # script's since_seq catch-up, and the page never claims more than it shows.
    last_seq = channel.last_seq
    try:
        page, has_more = selectors.message_page(
            user=user, channel_id=channel.pk, limit=ROOM_PAGE_SIZE, before=before, tombstones=True
        )
    except ChatError as error:
        raise Http404(error.detail) from None
    membership = selectors.membership_get(user=user, channel=channel)
    read_up_to = membership.last_read_seq if membership else last_seq
    if membership is not None and before is None and last_seq > read_up_to:
        services.channel_mark_read(user=user, channel_id=channel.pk, seq=last_seq)
    first_unread = next(
        (m.pk for m in page if m.seq > read_up_to and m.user_id != user.pk and not m.deleted_at),
        None,
    )
    members = list(selectors.channel_members(user=user, channel_id=channel.pk))
    _shape_log(page, first_unread)
    can_moderate = roles.is_moderator(user)
    is_owner = membership is not None and membership.role == Membership.Role.OWNER
    context = {
        "channel": channel,
        "page": page,
        "has_more": has_more,
        "older_than": before,
        "last_seq": last_seq,
        "is_member": membership is not None,
        "first_unread": first_unread,
        "members": members,
        "conversation_label": _conversation_label(channel, members, user),
        "can_moderate": can_moderate,
        "can_manage": can_moderate or is_owner,
        "form": form,
        "max_length": MAX_CONTENT_LENGTH,
        "heartbeat_s": settings.HEARTBEAT_SECONDS,
    }
    return render(request, "chat/room.html", context, status=status)


def _conversation_label(channel: Channel, members: list[Membership], user: Any) -> str:
    """A channel by its name; a direct message by the other people in it."""
    if not channel.is_dm:
        return f"#{channel.name}"
    return dm_label([membership.user for membership in members], user)


def _shape_log(page: list[Any], first_unread: Any) -> None:
    """Day dividers and author groups, as static/js/timeline.js draws them (in UTC here;
    the script redraws them in the reader's time zone)."""
    today = timezone.now().date()
    previous = None
    for message in page:
        day = message.created_at.date()
        if previous is None or previous.created_at.date() != day:
            if day == today:
                message.day_label = "Today"
            elif day == today - timedelta(days=1):
                message.day_label = "Yesterday"
            else:
                message.day_label = date_format(
                    message.created_at, "l, F j" if day.year == today.year else "F j, Y"
                )
            message.continued = False
        else:
            message.day_label = ""
            message.continued = (
                previous.user_id == message.user_id
                and not previous.deleted_at
                and not message.deleted_at
                and message.created_at - previous.created_at <= GROUP_WITHIN
                and message.pk != first_unread  # the "New messages" line starts a group
            )
        previous = message


def _visible_channel(request: HttpRequest, name: str) -> Channel:
    try:
        return selectors.channel_get_by_name(user=acting_user(request), name=name)
    except NotFound:
        raise Http404("Channel not found.") from None


def _add_errors(form: Any, error: ChatError) -> None:
    placed = False
    for field, problems in error.fields.items():
        if field in form.fields:
            for problem in problems:
                form.add_error(field, problem)
            placed = True
    if not placed:
        form.add_error(None, error.detail)
