"""The first admin from CHAT_ADMIN_USERNAME / CHAT_ADMIN_PASSWORD (`manage.py ensure_admin`)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long first-admin passphrase 7"


def _ensure_admin() -> str:
    output = io.StringIO()
    call_command("ensure_admin", stdout=output)
    return output.getvalue()


@pytest.fixture
def admin_env(settings: Any) -> Any:
    settings.CHAT_ADMIN_USERNAME = "root-admin"
    settings.CHAT_ADMIN_PASSWORD = PASSWORD
    settings.CHAT_ADMIN_EMAIL = "admin@example.com"
    return settings


def test_first_start_makes_a_superuser_and_later_starts_leave_it_alone(admin_env: Any) -> None:
    assert _ensure_admin() == "admin root-admin: created (superuser)\n"
    admin = User.objects.get(username="root-admin")
    assert admin.is_superuser and admin.is_staff and admin.role == User.Role.ADMIN
    assert admin.email == "admin@example.com"
    assert admin.check_password(PASSWORD)

    admin_env.CHAT_ADMIN_PASSWORD = "another long passphrase 8"
    assert _ensure_admin() == "admin root-admin: exists, left unchanged\n"
    assert User.objects.filter(username__iexact="root-admin").count() == 1
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)


def test_an_existing_user_of_that_name_is_never_changed(admin_env: Any) -> None:
    member = UserFactory.create(username="Root-Admin")
    assert _ensure_admin() == "admin root-admin: exists, left unchanged\n"
    member.refresh_from_db()
    assert member.check_password(FACTORY_PASSWORD)
    assert not member.is_superuser and member.role == User.Role.MEMBER


def test_without_the_variables_nothing_happens(settings: Any) -> None:
    settings.CHAT_ADMIN_USERNAME = ""
    settings.CHAT_ADMIN_PASSWORD = ""
    assert _ensure_admin() == ""
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("root-admin", "", "CHAT_ADMIN_USERNAME=root-admin needs CHAT_ADMIN_PASSWORD"),
        ("", "orphan-passphrase-1", "CHAT_ADMIN_PASSWORD is set but CHAT_ADMIN_USERNAME is not"),
        ("root-admin", "password", "admin root-admin not created: password:"),
    ],
)
def test_incomplete_or_weak_settings_fail_with_a_clear_message(
    settings: Any, username: str, password: str, message: str
) -> None:
    settings.CHAT_ADMIN_USERNAME = username
    settings.CHAT_ADMIN_PASSWORD = password
    with pytest.raises(CommandError) as failure:
        _ensure_admin()
    assert str(failure.value).startswith(message)
    assert not User.objects.exists()
