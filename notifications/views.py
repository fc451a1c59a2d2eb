"""The pages of notifications: the settings page, the unsubscribe link of the emails and the
service worker of Web Push (docs/web.md, "Notifications")."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import acting_user
from chat.exceptions import NotFound, RateLimited
from chatsite import ratelimit
from notifications import delivery, push


class EmailNotificationsForm(forms.Form):
    email_notifications = forms.BooleanField(
        required=False,
        label="Email me about direct messages and mentions I have not read",
        help_text="Sent when a message waits unread while you are away; several in one email.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Email notifications on or off, and push notifications for this browser (the button is
    static/js/push-settings.js: permission must be asked from a click)."""
    user = acting_user(request)
    preference = delivery.preference_for(user)
    form = EmailNotificationsForm(
        request.POST or None, initial={"email_notifications": preference.email_enabled}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            delivery.preference_update(
                user=user, email_enabled=form.cleaned_data["email_notifications"]
            )
        except RateLimited as error:
            form.add_error("email_notifications", error.detail)
            status = 429
        else:
            messages.success(request, "Your notification settings were saved.")
            return redirect("notifications-settings")
    context = {"form": form, "push_public_key": push.public_key()}
    return render(request, "notifications/settings.html", context, status=status)


@csrf_exempt  # the signed token is the authority; mail clients POST without a page (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button; POST (that button, or a mail client's one-click unsubscribe)
    turns email notifications off. A GET changes nothing, so link scanners that open every
    link of a mail do not unsubscribe anyone."""
    wait = ratelimit.hit(ratelimit.UNSUBSCRIBE, ratelimit.client_ip(request))
    if wait is not None:
        return ratelimit.too_many_attempts(request, wait)
    user = delivery.unsubscribe_user(token)
    if user is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        try:
            delivery.email_unsubscribe(token=token)
        except NotFound:
            return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "notifications/unsubscribe.html", {"done": True, "who": user})
    return render(request, "notifications/unsubscribe.html", {"who": user})


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js at the site's root, so its scope is the whole site."""
    response = HttpResponse(
        render_to_string("notifications/sw.js"), content_type="text/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    return response
