from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import roles
from accounts.models import User
from chat.models import Message
from chat.validators import content_problem, validate_channel_name, validate_message_content
from chatsite import rls
from tests.factories import UserFactory


@pytest.mark.parametrize(
    "content",
    ["", "   ", "\n\t ", "a" * 4001, "nul\x00byte", "bell\x07", "esc\x1b[31m", 42, None],
)
def test_message_content_rules_refuse(content: object) -> None:
    assert content_problem(content) is not None
    with pytest.raises(ValidationError):
        validate_message_content(content)


@pytest.mark.parametrize(
    "content", ["hi", "a" * 4000, "\U0001f600" * 4000, "tab\tand\nnewline", "  padded  "]
)
def test_message_content_rules_accept(content: str) -> None:
    assert content_problem(content) is None
    validate_message_content(content)


def test_model_full_clean_refuses_content_over_4000_code_points(post, alice, channel) -> None:
    message = post(alice, channel, "ok")
    message.content = "x" * 4001
    with pytest.raises(ValidationError) as raised:
        message.full_clean()
    assert "content" in raised.value.message_dict


@pytest.mark.parametrize("name", ["General", "-start", "with space", "a" * 81, ""])
def test_channel_name_rules_refuse(name: str) -> None:
    with pytest.raises(ValidationError):
        validate_channel_name(name)


def test_user_email_is_unique_case_insensitively(db) -> None:
    UserFactory.create(username="one", email="Same@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory.create(username="two", email="same@example.COM")


def test_username_is_unique_case_insensitively(db) -> None:
    UserFactory.create(username="Dana")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory.create(username="dana")


def test_moderators_and_admins_are_staff_members_are_not(db) -> None:
    member = UserFactory.create(role=User.Role.MEMBER)
    moderator = UserFactory.create(role=User.Role.MODERATOR)
    admin = UserFactory.create(role=User.Role.ADMIN)
    assert (member.is_staff, moderator.is_staff, admin.is_staff) == (False, True, True)
    moderator.role = User.Role.MEMBER
    moderator.save(update_fields=["role"])
    moderator.refresh_from_db()
    assert moderator.is_staff is False
    assert roles.is_moderator(moderator) is False


def test_message_str_and_flags(post, alice, channel) -> None:
    message = post(alice, channel, "hi")
    assert str(message) == "message 1 in #general"
    assert message.is_deleted is False
    assert str(channel) == "#general"
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "superuser", "active", "db_role"),
    [
        ("member", False, True, rls.ROLE_AUTHENTICATED),
        ("moderator", False, True, rls.ROLE_MODERATOR),
        ("admin", False, True, rls.ROLE_MODERATOR),
        ("admin", True, True, rls.ROLE_MODERATOR),
        ("moderator", False, False, ""),
    ],
)
def test_the_database_role_follows_the_one_moderator_rule(
    db: None, role: str, superuser: bool, active: bool, db_role: str
) -> None:
    user = UserFactory.create(role=role, is_superuser=superuser, is_active=active)
    assert rls.context_for(user).role == db_role
    assert (db_role == rls.ROLE_MODERATOR) == roles.is_moderator(user)


def test_the_database_role_asks_the_registered_rule(
    monkeypatch: pytest.MonkeyPatch, alice: User
) -> None:
    # accounts registers roles.is_moderator when Django starts; chatsite.rls only asks it.
    monkeypatch.setattr(rls, "_moderates", lambda user: user.pk == alice.pk)
    assert rls.context_for(alice).role == rls.ROLE_MODERATOR
    monkeypatch.setattr(rls, "_moderates", rls._nobody_moderates)
    assert rls.context_for(alice).role == rls.ROLE_AUTHENTICATED
