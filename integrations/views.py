"""The pages of claiming an imported account (docs/integrations.md, "Moving in from
Slack"): ask for a link by email, follow it, set a password."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from chat.exceptions import RateLimited
from chatsite import ratelimit
from integrations import claims


class ClaimRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="The address your account had in Slack.",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


@require_http_methods(["GET", "POST"])
def claim_request(request: HttpRequest) -> HttpResponse:
    """Ask for a claim link. The answer is the same whether the address has an imported
    account or not."""
    if request.user.is_authenticated:
        return redirect("web:channel_list")
    form = ClaimRequestForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "account/claim_request.html", {"form": form}, status=400)
        try:
            claims.claim_request(
                email=form.cleaned_data["email"], client_ip=ratelimit.client_ip(request)
            )
        except RateLimited as error:
            context = {"form": form, "rate_limited": True, "retry_after": error.retry_after}
            response = render(request, "account/claim_request.html", context, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        return render(request, "account/claim_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "account/claim_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
def claim_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """A claim link: set a password, and the account is yours."""
    user = claims.claim_user(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "account/claim_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST or None)
    for field in form.fields.values():
        field.widget.attrs.pop("placeholder", None)
    form.fields["new_password1"].widget.attrs["autofocus"] = True
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "account/claim_confirm.html", {"form": form, "claimed": user}, status=400
            )
        claims.claim_complete(user=user, password=form.cleaned_data["new_password1"])
        messages.success(request, f"Welcome, {user.username}: your account is ready. Log in.")
        return redirect("web:login")
    return render(request, "account/claim_confirm.html", {"form": form, "claimed": user})
