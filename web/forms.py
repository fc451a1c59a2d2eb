"""Forms of the pages. Validation is the model's and the services' own; nothing is redone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from accounts.models import User
from accounts.services import user_register, user_registration_problems


class SignupForm(forms.ModelForm):
    """Username, email and password, checked by the model and the password validators."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    class Meta:
        model = User
        fields = ["username", "email"]
        labels = {"username": "Username", "email": "Email"}
        widgets = {
            "username": forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        problems = user_registration_problems(
            username=cleaned.get("username", ""),
            email=cleaned.get("email", ""),
            password=cleaned.get("password", ""),
        )
        for field, messages in problems.items():
            if field not in self.errors:
                for message in messages:
                    self.add_error(field, message)
        return cleaned

    def save(self, commit: bool = True) -> User:
        return user_register(
            username=self.cleaned_data["username"],
            email=self.cleaned_data["email"],
            password=self.cleaned_data["password"],
        )


class ChannelCreateForm(forms.Form):
    """The fields of a new channel; ``chat.services.channel_create`` checks them."""

    name = forms.CharField(
        label="Name",
        max_length=80,
        help_text="Lowercase letters, digits, '-' or '_'.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    title = forms.CharField(label="Title", max_length=200, required=False)
    topic = forms.CharField(label="Topic", max_length=500, required=False)
    is_private = forms.BooleanField(label="Private (members join by invitation)", required=False)


class MessageForm(forms.Form):
    """The composer when scripts are off; the content rules are the service's."""

    content = forms.CharField(label="Message", strip=False, widget=forms.Textarea)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def clean_content(self) -> str:
        # Browsers submit a textarea's line breaks as CRLF; a message holds plain newlines.
        content: str = self.cleaned_data["content"]
        return content.replace("\r\n", "\n").replace("\r", "\n")
