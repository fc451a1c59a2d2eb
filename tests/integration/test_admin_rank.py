"""Rank holds in the admin (accounts.roles): member < moderator < admin < superuser.

Nobody but a superuser changes the password, role or status of someone of equal or higher
rank, through the change form, the password change view or the actions. Driven through the
real admin with Django's test client.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import roles
from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

USERS_URL = "/admin/accounts/user/"
NEW_PASSWORD = "an-Entirely-new-pass-42"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _superuser() -> User:
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


def _set_password(client: Client, target: User) -> Any:
    return client.post(
        f"{USERS_URL}{target.pk}/password/",
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def _change_form_data(client: Client, target: User, **changes: Any) -> dict[str, Any]:
    form = client.get(f"{USERS_URL}{target.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"date_joined_0": "", **changes})
    return {k: v for k, v in data.items() if k in form.fields}


def test_rank_orders_members_moderators_admins_and_superusers() -> None:
    member, moderator, admin = (
        UserFactory.create(role=r) for r in ("member", "moderator", "admin")
    )
    root = _superuser()
    assert [roles.rank(u) for u in (member, moderator, admin, root)] == [0, 1, 2, 3]
    assert roles.outranks(admin, moderator) and roles.outranks(moderator, member)
    assert not roles.outranks(admin, UserFactory.create(role="admin"))
    assert not roles.outranks(admin, root)
    assert roles.outranks(root, _other_superuser())
    assert roles.assignable_roles(admin) == ["member", "moderator"]
    assert roles.assignable_roles(root) == ["member", "moderator", "admin"]
    admin.is_active = False
    assert not roles.outranks(admin, member) and not roles.is_moderator(admin)


def _other_superuser() -> User:
    return User.objects.create_superuser("root2", "root2@example.com", PASSWORD)


@pytest.mark.parametrize("target_role", ["admin", "superuser"])
def test_an_admin_cannot_set_the_password_of_an_equal_or_higher_rank(target_role: str) -> None:
    admin = UserFactory.create(role="admin")
    target = _superuser() if target_role == "superuser" else UserFactory.create(role="admin")
    client = signed_in(admin)

    assert client.get(f"{USERS_URL}{target.pk}/password/").status_code == 403
    assert _set_password(client, target).status_code == 403

    target.refresh_from_db()
    assert target.check_password(PASSWORD)
    assert not target.check_password(NEW_PASSWORD)


def test_an_admin_sets_the_password_of_a_moderator_and_a_superuser_of_anyone() -> None:
    admin = UserFactory.create(role="admin")
    moderator = UserFactory.create(role="moderator")
    assert _set_password(signed_in(admin), moderator).status_code == 302
    moderator.refresh_from_db()
    assert moderator.check_password(NEW_PASSWORD)

    other_admin = UserFactory.create(role="admin")
    assert _set_password(signed_in(_superuser()), other_admin).status_code == 302
    other_admin.refresh_from_db()
    assert other_admin.check_password(NEW_PASSWORD)


def test_an_admin_may_change_their_own_password_in_the_user_admin() -> None:
    admin = UserFactory.create(role="admin")
    assert _set_password(signed_in(admin), admin).status_code == 302


def test_an_admin_cannot_edit_or_demote_another_admin() -> None:
    admin = UserFactory.create(role="admin")
    other = UserFactory.create(role="admin", display_name="Other")
    client = signed_in(admin)

    page = client.get(f"{USERS_URL}{other.pk}/change/")
    assert page.status_code == 200  # view only
    assert not page.context["has_change_permission"]
    response = client.post(
        f"{USERS_URL}{other.pk}/change/",
        {"username": other.username, "email": other.email, "role": "member"},
    )
    assert response.status_code == 403
    other.refresh_from_db()
    assert (other.role, other.is_staff) == ("admin", True)


def test_an_admin_cannot_promote_anyone_to_admin() -> None:
    admin = UserFactory.create(role="admin")
    member = UserFactory.create(role="member")
    client = signed_in(admin)
    choices = client.get(f"{USERS_URL}{member.pk}/change/").context["adminform"].form
    assert [value for value, _ in choices.fields["role"].choices] == ["member", "moderator"]

    response = client.post(
        f"{USERS_URL}{member.pk}/change/", _change_form_data(client, member, role="admin")
    )
    assert response.status_code == 200  # the form again, with an error on role
    assert "role" in response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.role == "member"

    promoted = client.post(
        f"{USERS_URL}{member.pk}/change/", _change_form_data(client, member, role="moderator")
    )
    assert promoted.status_code == 302
    member.refresh_from_db()
    assert member.role == "moderator"


def test_an_admin_cannot_add_an_admin() -> None:
    admin = UserFactory.create(role="admin")
    response = signed_in(admin).post(
        f"{USERS_URL}add/",
        {
            "username": "eve",
            "email": "eve@example.com",
            "role": "admin",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="eve").exists()


def test_a_superuser_promotes_to_admin() -> None:
    member = UserFactory.create(role="member")
    client = signed_in(_superuser())
    response = client.post(
        f"{USERS_URL}{member.pk}/change/", _change_form_data(client, member, role="admin")
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "admin"


@pytest.mark.parametrize("action", ["deactivate_selected", "reactivate_selected"])
def test_the_status_actions_refuse_equal_or_higher_ranks(action: str) -> None:
    admin = UserFactory.create(role="admin")
    root = _superuser()
    other_admin = UserFactory.create(role="admin")
    if action == "reactivate_selected":
        User.objects.filter(pk__in=[root.pk, other_admin.pk]).update(is_active=False)
    client = signed_in(admin)

    response = client.post(
        USERS_URL,
        {"action": action, "_selected_action": [str(root.pk), str(other_admin.pk)]},
        follow=True,
    )

    notices = [str(m) for m in response.context["messages"]]
    assert sum("Only someone above" in notice for notice in notices) == 2
    expected = action == "deactivate_selected"
    assert set(
        User.objects.filter(pk__in=[root.pk, other_admin.pk]).values_list("is_active", flat=True)
    ) == {expected}
