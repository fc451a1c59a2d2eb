"""What happens when allauth's pages change a password: every earlier session, token and
socket of the user ends (accounts.services.user_sign_out_everywhere); the browser that made
the change stays signed in."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth import update_session_auth_hash
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import services
from accounts.models import User


@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
def sign_out_elsewhere(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    services.user_sign_out_everywhere(user=user)
    if request.user.is_authenticated and request.user.pk == user.pk:
        update_session_auth_hash(request, user)
