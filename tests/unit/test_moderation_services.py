"""Moderation services: tombstone, restore, archive, member management, (de)activation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import roles
from accounts import services as account_services
from accounts.models import User
from chat import selectors, services
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Membership, MessageRevision
from chatsite import rls
from tests.factories import UserFactory


def _audit_messages(target: Any) -> list[str]:
    return list(
        LogEntry.objects.filter(object_id=str(target.pk))
        .order_by("action_time", "pk")
        .values_list("change_message", flat=True)
    )


def test_tombstone_by_moderator_keeps_the_content_and_takes_the_next_seq(
    post, alice, moderator, channel
) -> None:
    message = post(alice, channel, "rude words")

    tombstoned = services.message_tombstone_by_moderator(moderator=moderator, message_id=message.pk)

    assert tombstoned.content == "" and tombstoned.deleted_at is not None
    assert tombstoned.change_seq == 2
    kept = MessageRevision.objects.get(message=message)
    assert (kept.kind, kept.content, kept.actor, kept.change_seq) == (
        "tombstone",
        "rude words",
        moderator,
        2,
    )
    changes, _ = selectors.message_page(user=alice, channel_id=channel.pk, since_seq=1)
    assert [(m.pk, m.deleted_at is not None) for m in changes] == [(message.pk, True)]
    assert _audit_messages(message) == ["Tombstoned message 1 by alice in #general (change seq 2)."]


def test_restore_brings_the_content_back_as_a_new_change(post, alice, moderator, channel) -> None:
    message = post(alice, channel, "fine after all")
    services.message_tombstone_by_moderator(moderator=moderator, message_id=message.pk)

    restored = services.message_restore(moderator=moderator, message_id=message.pk)

    assert (restored.content, restored.deleted_at, restored.change_seq) == (
        "fine after all",
        None,
        3,
    )
    changes, _ = selectors.message_page(user=alice, channel_id=channel.pk, since_seq=2)
    assert [(m.pk, m.content) for m in changes] == [(message.pk, "fine after all")]
    kinds = list(MessageRevision.objects.filter(message=message).values_list("kind", flat=True))
    assert kinds == ["tombstone", "restore"]
    assert _audit_messages(message)[-1] == (
        "Restored message 1 by alice in #general (change seq 3)."
    )


def test_a_message_the_author_deleted_cannot_be_restored(post, alice, moderator, channel) -> None:
    message = post(alice, channel, "oops")
    services.message_edit(user=alice, message_id=message.pk, content="oops!")
    assert MessageRevision.objects.filter(message=message, kind="edit").count() == 1

    services.message_delete(user=alice, message_id=message.pk)

    assert not MessageRevision.objects.filter(message=message).exists()
    with pytest.raises(ValidationError) as raised:
        services.message_restore(moderator=moderator, message_id=message.pk)
    assert raised.value.code == "not_restorable"


def test_restore_refuses_live_and_unknown_messages(post, alice, moderator, channel) -> None:
    message = post(alice, channel, "alive")
    with pytest.raises(ValidationError):
        services.message_restore(moderator=moderator, message_id=message.pk)
    with pytest.raises(NotFound):
        services.message_restore(moderator=moderator, message_id=uuid.uuid4())
    with pytest.raises(NotFound):
        services.message_restore(moderator=moderator, message_id="not-a-uuid")


def test_a_moderator_delete_through_the_api_is_a_restorable_tombstone(
    post, alice, moderator, channel
) -> None:
    message = post(alice, channel, "reported")
    services.message_delete(user=moderator, message_id=message.pk)
    restored = services.message_restore(moderator=moderator, message_id=message.pk)
    assert restored.content == "reported"


def test_members_cannot_use_moderation_services(post, alice, bob, channel) -> None:
    message = post(alice, channel, "mine")
    with pytest.raises(PermissionDenied):
        services.message_tombstone_by_moderator(moderator=bob, message_id=message.pk)
    with pytest.raises(PermissionDenied):
        services.message_restore(moderator=bob, message_id=message.pk)
    with pytest.raises(PermissionDenied):
        services.channel_archive(moderator=bob, channel_id=channel.pk)
    with pytest.raises(PermissionDenied):
        account_services.user_deactivate(actor=bob, user=alice)


def test_edit_history_keeps_each_previous_text(post, alice, channel) -> None:
    message = post(alice, channel, "v1")
    services.message_edit(user=alice, message_id=message.pk, content="v2")
    services.message_edit(user=alice, message_id=message.pk, content="v3")
    history = MessageRevision.objects.filter(message=message).order_by("change_seq")
    assert [(r.content, r.change_seq) for r in history] == [("v1", 2), ("v2", 3)]


def test_archive_and_unarchive(post, alice, moderator, channel) -> None:
    services.channel_archive(moderator=moderator, channel_id=channel.pk)
    with pytest.raises(PermissionDenied) as raised:
        post(alice, channel, "anyone here?")
    assert raised.value.code == "archived"
    with pytest.raises(ValidationError):
        services.channel_archive(moderator=moderator, channel_id=channel.pk)

    services.channel_unarchive(moderator=moderator, channel_id=channel.pk)
    assert post(alice, channel, "back").content == "back"
    with pytest.raises(ValidationError):
        services.channel_unarchive(moderator=moderator, channel_id=channel.pk)
    assert _audit_messages(channel) == [
        "Archived #general: it is read-only now.",
        "Unarchived #general: members can post again.",
    ]


def test_member_remove_and_role(alice, bob, moderator, channel) -> None:
    services.channel_member_add(actor=moderator, channel_id=channel.pk, user=bob)
    services.channel_member_set_role(actor=moderator, channel_id=channel.pk, user=bob, role="owner")
    assert Membership.objects.get(channel=channel, user=bob).role == "owner"
    with pytest.raises(ValidationError):
        services.channel_member_set_role(
            actor=moderator, channel_id=channel.pk, user=bob, role="king"
        )

    assert services.channel_member_remove(actor=moderator, channel_id=channel.pk, user=bob)
    assert not services.channel_member_remove(actor=moderator, channel_id=channel.pk, user=bob)
    with pytest.raises(ValidationError):
        services.channel_member_set_role(
            actor=moderator, channel_id=channel.pk, user=bob, role="member"
        )
    with pytest.raises(PermissionDenied):
        services.channel_member_remove(actor=bob, channel_id=channel.pk, user=alice)


def test_deactivate_blacklists_refresh_tokens_and_reactivate_restores_login(
    alice, moderator
) -> None:
    refresh = RefreshToken.for_user(alice)

    account_services.user_deactivate(actor=moderator, user=alice)

    alice.refresh_from_db()
    assert not alice.is_active
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()
    assert _audit_messages(alice) == [
        "Deactivated alice: signed out everywhere, 1 refresh token(s) revoked."
    ]
    with pytest.raises(ValidationError):
        account_services.user_deactivate(actor=moderator, user=alice)

    account_services.user_reactivate(actor=moderator, user=alice)
    alice.refresh_from_db()
    assert alice.is_active
    with pytest.raises(ValidationError):
        account_services.user_reactivate(actor=moderator, user=alice)


def test_only_a_higher_role_may_deactivate(moderator) -> None:
    other_moderator = UserFactory.create(role="moderator")
    admin = UserFactory.create(role="admin")
    with pytest.raises(PermissionDenied):
        account_services.user_deactivate(actor=moderator, user=other_moderator)
    with pytest.raises(PermissionDenied):
        account_services.user_deactivate(actor=moderator, user=moderator)
    account_services.user_deactivate(actor=admin, user=other_moderator)
    with pytest.raises(PermissionDenied):
        account_services.user_deactivate(actor=admin, user=UserFactory.create(role="admin"))


def test_a_superuser_is_an_admin(db: None) -> None:
    superuser = User.objects.create_superuser("root", "root@example.com", "pw-long-enough-1")
    assert (superuser.role, superuser.is_staff, roles.is_moderator(superuser)) == (
        "admin",
        True,
        True,
    )


def test_revisions_follow_row_level_security(post, alice, bob, moderator, channel) -> None:
    """Authors write and purge their own history; moderators read all; others see nothing."""
    first = post(alice, channel, "draft")
    second = post(alice, channel, "other")
    with rls.acting_as_user(alice):
        services.message_edit(user=alice, message_id=first.pk, content="final")
        services.message_edit(user=alice, message_id=second.pk, content="other!")
        assert MessageRevision.objects.count() == 2
    with rls.acting_as_user(bob):
        assert MessageRevision.objects.count() == 0
    with rls.acting_as_user(moderator):
        services.message_tombstone_by_moderator(moderator=moderator, message_id=first.pk)
        assert MessageRevision.objects.count() == 3
    with rls.acting_as_user(alice):
        services.message_delete(user=alice, message_id=second.pk)
    assert list(MessageRevision.objects.values_list("kind", flat=True).order_by("pk")) == [
        "edit",
        "tombstone",
    ]
