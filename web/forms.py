"""Forms of the chat pages. Validation is the services' own; nothing is redone."""

from __future__ import annotations

from django import forms


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

    # Empty is allowed beside files; the service says when it is not.
    content = forms.CharField(label="Message", strip=False, widget=forms.Textarea, required=False)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def clean_content(self) -> str:
        # Browsers submit a textarea's line breaks as CRLF; a message holds plain newlines.
        content: str = self.cleaned_data["content"]
        return content.replace("\r\n", "\n").replace("\r", "\n")
