"""Usernames that look like an existing one (Unicode TR39 skeletons, case-insensitive) are
refused at every door that creates or renames a user: the register API, the sign-up page and
the admin; the unique key column settles races."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from accounts.usernames import SIMILAR_USERNAME, username_key, username_skeleton
from chat.exceptions import ValidationError
from tests.contract.conftest import assert_error
from tests.factories import UserFactory

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]

CYRILLIC_ALICE = "\u0430lice"  # Cyrillic a, then Latin "lice"
PASSWORD = "plum-kettle-orbit-42"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("alice", CYRILLIC_ALICE),
        ("alice", "ALICE"),
        ("ALICE", CYRILLIC_ALICE),
        ("paypal", "p\u0430yp\u0430l"),
        ("modern", "rnodern"),
        ("bob", "b0b"),
        ("alice", "\uff41lice"),  # fullwidth a
    ],
)
def test_look_alikes_share_a_skeleton(one: str, other: str) -> None:
    assert username_skeleton(one) == username_skeleton(other)
    assert username_key(one) == username_key(other)


@pytest.mark.parametrize(("one", "other"), [("alice", "alicia"), ("carol", "carol1")])
def test_different_names_do_not(one: str, other: str) -> None:
    assert username_key(one) != username_key(other)


def test_the_key_is_stored_and_follows_renames(alice: Any) -> None:
    assert alice.username_skeleton == username_key("alice")
    alice.username = "alicia"
    alice.save(update_fields=["username"])
    alice.refresh_from_db()
    assert alice.username_skeleton == username_key("alicia")


def test_register_refuses_a_look_alike(anon: APIClient, alice: Any) -> None:
    response = anon.post(
        "/api/auth/register/",
        {"username": CYRILLIC_ALICE, "email": "a2@example.com", "password": PASSWORD},
        format="json",
    )
    assert_error(response, 400, "validation_error", field="username")
    assert response.json()["error"]["fields"]["username"] == [SIMILAR_USERNAME]
    assert not User.objects.filter(username=CYRILLIC_ALICE).exists()


def test_the_signup_page_refuses_a_look_alike(alice: Any) -> None:
    response = Client().post(
        "/accounts/signup/",
        {"username": CYRILLIC_ALICE, "email": "a2@example.com", "password": PASSWORD},
    )
    assert response.status_code == 400
    assert SIMILAR_USERNAME in response.content.decode()
    assert User.objects.count() == 1


def test_the_admin_refuses_to_add_or_rename_to_a_look_alike(alice: Any, bob: Any) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    added = client.post(
        "/admin/accounts/user/add/",
        {
            "username": CYRILLIC_ALICE,
            "email": "a2@example.com",
            "role": "member",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert added.status_code == 200
    assert SIMILAR_USERNAME in added.context["adminform"].form.errors["username"]

    form = client.get(f"/admin/accounts/user/{bob.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"username": "ALICE", "date_joined_0": ""})
    data = {k: v for k, v in data.items() if k in form.fields}
    renamed = client.post(f"/admin/accounts/user/{bob.pk}/change/", data)
    assert renamed.status_code == 200
    assert "username" in renamed.context["adminform"].form.errors
    bob.refresh_from_db()
    assert bob.username == "bob"


def test_the_unique_key_settles_a_race(alice: Any) -> None:
    """Past the checks (two sign-ups at once), the database refuses the second."""
    with pytest.raises(ValidationError) as refused:
        services.user_register(username=CYRILLIC_ALICE, email="a2@example.com", password=PASSWORD)
    assert refused.value.fields == {"username": [SIMILAR_USERNAME]}
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory.create(username="\uff41lice")


def test_seeded_demo_users_have_their_keys(db: None) -> None:
    call_command("seed", stdout=None)
    for user in User.objects.all():
        assert user.username_skeleton == username_key(user.username), user.username
