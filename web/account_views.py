"""The account pages: django-allauth's views in the site's look, with every login and sign-up
door spending the per-address CHAT_AUTH_RATE budget (docs/web.md, "Accounts")."""

from __future__ import annotations

from typing import Any

from allauth.account import views as allauth_views
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.adapters import INVITATION_SESSION_KEY
from accounts.roles import acting_user
from chat.exceptions import ChatError, RateLimited
from chatsite import ratelimit
from exports import services as export_services


def _over_auth_budget(request: HttpRequest) -> int | None:
    return ratelimit.hit(ratelimit.AUTH, ratelimit.client_ip(request))


class _AuthRateLimited:
    """POSTs spend the client address's CHAT_AUTH_RATE budget; over it the page comes back
    with the form and the error, status 429."""

    template_name: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = _over_auth_budget(request) if request.method == "POST" else None
        if wait is not None:
            context = self.get_context_data(form=self.get_form())  # type: ignore[attr-defined]
            context.update(rate_limited=True, retry_after=wait)
            limited = render(request, self.template_name, context, status=429)
            limited["Retry-After"] = str(wait)
            return limited
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


def _accept_old_field_name(kwargs: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """allauth names some fields differently from what these pages posted before (``login``
    for ``username``, ``password1`` for ``password``): clients posting the old name are
    understood too."""
    data = kwargs.get("data")
    if data is not None and new not in data and old in data:
        data = data.copy()
        data[new] = data[old]
        kwargs["data"] = data
    return kwargs


def _plain_fields(form: Any, focus: str) -> Any:
    """The site's fields: the label says what to type (no placeholder repeating it), and the
    first field has the focus, as on every form of the site."""
    for field in form.fields.values():
        field.widget.attrs.pop("placeholder", None)
    if focus in form.fields:
        form.fields[focus].widget.attrs["autofocus"] = True
    return form


class LoginView(_AuthRateLimited, allauth_views.LoginView):
    template_name = "account/login.html"

    def get_form(self, form_class: Any = None) -> Any:
        return _plain_fields(super().get_form(form_class), "login")

    def get_form_kwargs(self) -> dict[str, Any]:
        return _accept_old_field_name(super().get_form_kwargs(), "username", "login")


class SignupView(_AuthRateLimited, allauth_views.SignupView):
    template_name = "account/signup.html"

    def get_form(self, form_class: Any = None) -> Any:
        return _plain_fields(super().get_form(form_class), "username")

    def get_form_kwargs(self) -> dict[str, Any]:
        return _accept_old_field_name(super().get_form_kwargs(), "password", "password1")

    def form_invalid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        response.status_code = 400
        return response


@require_http_methods(["GET"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: says plainly when it is unknown, expired or used up; otherwise
    remembers it for this browser and opens the sign-up form."""
    if request.user.is_authenticated:
        return redirect("web:channel_list")
    try:
        services.invitation_get_usable(token=token)
    except services.InvitationUnusable as exc:
        context = {"problem": exc.detail, "reason": exc.reason}
        return render(request, "account/invitation_unusable.html", context, status=410)
    request.session[INVITATION_SESSION_KEY] = token
    return redirect("account_signup")


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=services.DISPLAY_NAME_MAX,
        required=False,
        strip=False,
        help_text="Shown beside your messages instead of your username. Leave empty to use "
        "your username.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Your account: display name, and links to the email, password and sign-out pages."""
    user = acting_user(request)
    form = DisplayNameForm(request.POST or None, initial={"display_name": user.display_name})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.user_update_profile(
                    user=user, display_name=form.cleaned_data["display_name"]
                )
            except RateLimited as error:
                form.add_error("display_name", error.detail)
                status = 429
            except ChatError as error:
                for problem in error.fields.get("display_name", [error.detail]):
                    form.add_error("display_name", problem)
            else:
                messages.success(request, "Your display name was saved.")
                return redirect("web:profile")
    context = {
        "form": form,
        "export": export_services.user_export_latest(user=user),
        "export_days": settings.CHAT_USER_EXPORT_DAYS,
    }
    return render(request, "account/profile.html", context, status=status)


@login_required
@require_http_methods(["POST"])
def profile_export(request: HttpRequest) -> HttpResponse:
    """ "Export my data": queue an archive of the user's own data (one a day)."""
    try:
        export_services.user_export_request(user=acting_user(request))
    except RateLimited as error:
        messages.error(request, f"You asked for an export recently. {error.detail}")
    else:
        messages.success(request, "Your export is being prepared.")
    return redirect("web:profile")


@login_required
@require_http_methods(["GET", "POST"])
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """Sign out of every browser and app: every session, token and socket ends."""
    if request.method == "POST":
        services.user_sign_out_everywhere(user=acting_user(request))
        logout(request)
        messages.success(request, "You were signed out everywhere.")
        return redirect("web:login")
    return render(request, "account/logout_everywhere.html")
