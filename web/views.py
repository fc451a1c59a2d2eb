"""The pages: thin views that call the chat selectors and services (docs/web.md).

The room renders its last 50 messages on the server; the modules in static/js/ then keep it
live over the WebSocket. Every form here also works without scripts (post, redirect, get).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from accounts import roles
from accounts.roles import acting_user
from chat import commands, selectors, services
from chat.exceptions import ChatError, NotFound, RateLimited
from chat.models import Channel, Membership
from chat.validators import MAX_CONTENT_LENGTH
from files import services as files_services
from files import upload_handlers
from notifications import selectors as notification_selectors
from web.forms import ChannelCreateForm, MessageForm
from web.templatetags.chat_ui import dm_label

ROOM_PAGE_SIZE = 50
MENTIONS_PAGE_SIZE = 50
GROUP_WITHIN = timedelta(minutes=5)  # static/js/timeline.js groups the same way


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
@require_POST
def channel_notifications(request: HttpRequest, name: str) -> HttpResponse:
    """The room's notification settings without scripts (the panel's form; static/js
    saves each change as it is made)."""
    channel = _visible_channel(request, name)
    try:
        services.membership_update(
            user=acting_user(request),
            channel_id=channel.pk,
            notify=request.POST.get("notify") or None,
            muted=request.POST.get("muted") == "on",
        )
    except ChatError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "Notification settings saved.")
    return redirect("web:room", name=channel.name)


@login_required
@require_http_methods(["GET"])
def mentions(request: HttpRequest) -> HttpResponse:
    """The user's mentions, newest first, with jump links (docs/web.md "Notifications")."""
    user = acting_user(request)
    context: dict[str, Any] = {"mentions": [], "next": None, "error": None}
    status = 200
    try:
        page, context["next"] = notification_selectors.mention_page(
            user=user, limit=MENTIONS_PAGE_SIZE, cursor=request.GET.get("cursor") or None
        )
    except ChatError as error:
        context["error"] = error.detail
        status = error.status_code
    else:
        context["mentions"] = [
            {"mention": mention, "where": _mention_where(mention, user)} for mention in page
        ]
    response = render(request, "chat/mentions.html", context, status=status)
    if status == 429:
        response["Retry-After"] = "1"
    return response


def _mention_where(mention: Any, user: Any) -> str:
    channel = mention.channel
    if channel.is_dm:
        return dm_label(getattr(channel, "dm_members", []), user)
    return f"#{channel.name}"


@login_required
@require_http_methods(["GET", "POST"])
def room(request: HttpRequest, name: str) -> HttpResponse:
    channel = _visible_channel(request, name)
    form = MessageForm(request.POST or None)
    if request.method == "POST":
        if upload_handlers.refused(request):
            form = MessageForm({})  # the body was not read: only the error below is shown
            form.is_valid()
            limit = settings.CHAT_UPLOAD_MAX_BYTES
            form.add_error(None, f"A file is larger than the limit of {limit} bytes.")
            return _room_page(request, channel, form, status=413)
        if form.is_valid():
            content = form.cleaned_data["content"]
            try:
                if commands.looks_like_command(content):
                    # A slash command typed with scripts off: run it, then show the room (or
                    # the channel list, after /leave).
                    result = services.command_run(
                        user=acting_user(request),
                        channel_id=channel.pk,
                        text=content,
                        client_id=form.cleaned_data["client_id"],
                    )
                    if result.command == "leave":
                        return redirect("web:channel_list")
                    if result.message is None:
                        return redirect(request.path)
                    message = result.message
                else:
                    # Without scripts the form carries the files themselves (docs/web.md).
                    uploads = [
                        files_services.upload_create(user=acting_user(request), file=file)
                        for file in request.FILES.getlist("files")
                    ]
                    message, _ = services.message_create(
                        user=acting_user(request),
                        channel_id=channel.pk,
                        content=content,
                        client_id=form.cleaned_data["client_id"],
                        attachment_ids=[upload.pk for upload in uploads],
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
    # ?m=<id>: the page around one message (a search result, a link), shown highlighted.
    around = None if before else request.GET.get("m") or None
    # Read last_seq before the page: a change that lands in between is replayed by the
    # script's since_seq catch-up, and the page never claims more than it shows.
    last_seq = channel.last_seq
    try:
        page, has_more = selectors.message_page(
            user=user,
            channel_id=channel.pk,
            limit=ROOM_PAGE_SIZE,
            before=before,
            around=around,
            tombstones=True,
        )
    except ChatError as error:
        raise Http404(error.detail) from None
    membership = selectors.membership_get(user=user, channel=channel)
    read_up_to = membership.last_read_seq if membership else last_seq
    at_latest = before is None and around is None
    if membership is not None and at_latest and last_seq > read_up_to:
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
        "highlight": around,
        "has_newer": around is not None and bool(page) and page[-1].seq < last_seq,
        "newest_shown": page[-1].pk if page else None,
        "last_seq": last_seq,
        "is_member": membership is not None,
        "membership": membership,
        "notify_choices": Membership.Notify.choices,
        "first_unread": first_unread,
        "members": members,
        "conversation_label": _conversation_label(channel, members, user),
        "can_moderate": can_moderate,
        "can_manage": can_moderate or is_owner,
        "form": form,
        "max_length": MAX_CONTENT_LENGTH,
        "slash_commands": [
            {"name": name, "arguments": arguments, "help": help_text}
            for name, (arguments, help_text) in commands.COMMANDS.items()
        ],
        "max_upload": settings.CHAT_UPLOAD_MAX_BYTES,
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
                # A webhook's bot posts under the names its callers choose: one group each.
                and (previous.sender_name, previous.sender_icon)
                == (message.sender_name, message.sender_icon)
                and not previous.deleted_at
                and not message.deleted_at
                and message.created_at - previous.created_at <= GROUP_WITHIN
                and message.pk != first_unread  # the "New messages" line starts a group
            )
        previous = message


@login_required
@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    """Search results (docs/web.md "Search"): grouped by channel, newest page first."""
    q = request.GET.get("q", "")
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {"q": q, "groups": [], "next": None, "error": None}
    status = 200
    if q.strip():
        try:
            hits, context["next"] = selectors.message_search(
                user=acting_user(request), q=q, cursor=cursor
            )
        except ChatError as error:
            context["error"] = error.detail
            status = error.status_code
        else:
            context["groups"] = search_groups(hits)
            context["count"] = len(hits)
        context["chips"] = search_chips(q)
    response = render(request, "chat/search.html", context, status=status)
    if status in (429, 503):
        response["Retry-After"] = "1"
    return response


def search_groups(hits: list[selectors.SearchHit]) -> list[dict[str, Any]]:
    """Consecutive hits of one channel under one heading, in the order of relevance."""
    groups: list[dict[str, Any]] = []
    for hit in hits:
        if not groups or groups[-1]["channel"].pk != hit.message.channel_id:
            groups.append({"channel": hit.message.channel, "hits": []})
        groups[-1]["hits"].append(hit)
    return groups


def search_chips(q: str) -> list[dict[str, str]]:
    """The filters of ``q`` as chips, each with the query that drops it."""
    words = q.split()
    chips = []
    for index, word in enumerate(words):
        key, _, value = word.partition(":")
        if value and key.lower() in {"from", "in", "has", "before", "after"}:
            rest = " ".join(words[:index] + words[index + 1 :])
            chips.append({"label": word, "without": rest})
    return chips


def _visible_channel(request: HttpRequest, name: str) -> Channel:
    try:
        return selectors.channel_get_by_name(user=acting_user(request), name=name)
    except NotFound:
        raise Http404("Channel not found.") from None


def _add_errors(form: Any, error: ChatError) -> None:
    placed = False
    for field, problems in error.fields.items():
        field = "content" if field == "text" else field  # a command's text is the content
        if field in form.fields:
            for problem in problems:
                form.add_error(field, problem)
            placed = True
    if not placed:
        form.add_error(None, error.detail)
