"""Every write and read of chat, run as the user (not the service), with row-level security on.

The rest of the suite sets data up as the service; here each service and selector runs under
``rls.acting_as_user(...)`` as the REST views and the WebSocket consumer call them, so these
tests prove the policies let the app's real paths through and keep outsiders out.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chat import selectors, services
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Channel, Membership, Message
from chatsite import rls
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _as(user: Any) -> Any:
    return rls.acting_as_user(user)


@pytest.fixture
def carol() -> Any:
    return UserFactory.create(username="carol")


def test_posting_to_a_public_channel_joins_takes_a_seq_and_inserts(bob: Any, channel: Any) -> None:
    client_id = uuid.uuid4()
    with _as(bob):
        message, created = services.message_create(
            user=bob, channel_id=channel.pk, content="hi", client_id=client_id
        )
        again, created_again = services.message_create(
            user=bob, channel_id=channel.pk, content="hi", client_id=client_id
        )
        assert (created, created_again) == (True, False)
        assert again.pk == message.pk
        assert Membership.objects.filter(channel=channel, user=bob, role="member").exists()
    with rls.acting_as_service():
        channel.refresh_from_db()
        assert channel.last_seq == message.seq == 1
        assert Message.objects.get(pk=message.pk).user_id == bob.pk


def test_members_post_in_their_private_channel_and_outsiders_get_not_found(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    with _as(alice):
        message, _ = services.message_create(
            user=alice, channel_id=private_channel.pk, content="just us"
        )
        assert message.seq == 1
    with _as(bob), pytest.raises(NotFound):
        services.message_create(user=bob, channel_id=private_channel.pk, content="let me in")
    with _as(bob), pytest.raises(NotFound):
        services.channel_join(user=bob, channel_id=private_channel.pk)
    with _as(bob), pytest.raises(NotFound):
        services.message_edit(user=bob, message_id=message.pk, content="edited")


def test_authors_edit_and_delete_their_own_messages(alice: Any, channel: Any, post: Any) -> None:
    message = post(alice, channel, "first")
    with _as(alice):
        edited = services.message_edit(user=alice, message_id=message.pk, content="second")
        assert (edited.content, edited.change_seq) == ("second", 2)
        deleted = services.message_delete(user=alice, message_id=message.pk)
        assert deleted.is_deleted and deleted.change_seq == 3
    with rls.acting_as_service():
        stored = Message.objects.get(pk=message.pk)
        assert (stored.content, stored.change_seq) == ("", 3)


def test_others_cannot_edit_or_delete_a_message(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "mine")
    with _as(bob):
        with pytest.raises(PermissionDenied, match="edit your own"):
            services.message_edit(user=bob, message_id=message.pk, content="yours now")
        with pytest.raises(PermissionDenied, match="delete your own"):
            services.message_delete(user=bob, message_id=message.pk)
    with rls.acting_as_service():
        assert Message.objects.get(pk=message.pk).content == "mine"


def test_moderator_tombstones_and_restores_a_message_in_a_channel_they_are_not_in(
    alice: Any, moderator: Any, private_channel: Any, post: Any
) -> None:
    message = post(alice, private_channel, "rude")
    with _as(moderator):
        with pytest.raises(PermissionDenied):
            services.message_edit(user=moderator, message_id=message.pk, content="x")
        tombstoned = services.message_delete(user=moderator, message_id=message.pk)
        assert tombstoned.is_deleted
        restored = services.message_restore(moderator=moderator, message_id=message.pk)
        assert restored.content == "rude" and not restored.is_deleted
        again = services.message_tombstone_by_moderator(moderator=moderator, message_id=message.pk)
        assert again.change_seq == 4


def test_creating_a_private_channel_makes_it_visible_to_its_creator_only(
    alice: Any, bob: Any
) -> None:
    with _as(alice):
        created = services.channel_create(user=alice, name="plans", is_private=True)
        assert selectors.channel_get(user=alice, channel_id=created.pk) == created
        assert Membership.objects.get(channel=created, user=alice).role == "owner"
        public = services.channel_create(user=alice, name="lobby")
        assert Channel.objects.filter(pk=public.pk).exists()
    with _as(bob):
        assert list(Channel.objects.values_list("name", flat=True)) == ["lobby"]
        # A hidden channel's name is still taken: a clear 400, not a database error.
        with pytest.raises(ValidationError, match="exists"):
            services.channel_create(user=bob, name="plans")


def test_join_mark_read_and_leave_a_public_channel(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    post(alice, channel, "one")
    post(alice, channel, "two")
    with _as(bob):
        membership = services.channel_join(user=bob, channel_id=channel.pk)
        assert membership.role == "member"
        marked = services.channel_mark_read(user=bob, channel_id=channel.pk, seq=5)
        assert marked.last_read_seq == 2
        listed = [
            (c.name, getattr(c, "is_member", None), getattr(c, "unread_count", None))
            for c in selectors.channel_list(user=bob)
        ]
        assert listed == [("general", True, 0)]
        services.channel_leave(user=bob, channel_id=channel.pk)
        assert not Membership.objects.filter(channel=channel, user=bob).exists()
        # Members of a visible channel are visible; the channel stays readable.
        assert [m.user_id for m in selectors.channel_members(user=bob, channel_id=channel.pk)] == [
            alice.pk
        ]
        page, has_more = selectors.message_page(user=bob, channel_id=channel.pk)
        assert [m.content for m in page] == ["one", "two"] and not has_more


def test_owner_adds_promotes_and_removes_members_of_a_private_channel(
    alice: Any, bob: Any, carol: Any, private_channel: Any
) -> None:
    with _as(alice):
        membership, created = services.channel_member_add(
            actor=alice, channel_id=private_channel.pk, user=bob
        )
        assert created and membership.role == "member"
    with _as(bob):
        assert selectors.channel_get(user=bob, channel_id=private_channel.pk) == private_channel
        with pytest.raises(PermissionDenied):
            services.channel_member_add(actor=bob, channel_id=private_channel.pk, user=carol)
        message, _ = services.message_create(
            user=bob, channel_id=private_channel.pk, content="thanks"
        )
        _channel, changes, more = selectors.changes_since(
            user=bob, channel_id=private_channel.pk, since_seq=0, limit=10
        )
        assert [m.pk for m in changes] == [message.pk] and not more
    with _as(alice):
        promoted = services.channel_member_set_role(
            actor=alice, channel_id=private_channel.pk, user=bob, role="owner"
        )
        assert promoted.role == "owner"
    with _as(bob):
        services.channel_member_add(actor=bob, channel_id=private_channel.pk, user=carol)
        assert services.channel_member_remove(actor=bob, channel_id=private_channel.pk, user=carol)
    with _as(carol), pytest.raises(NotFound):
        selectors.channel_get(user=carol, channel_id=private_channel.pk)


def test_moderator_adds_members_and_archives_any_channel(
    moderator: Any, carol: Any, private_channel: Any, post: Any, alice: Any
) -> None:
    with _as(moderator):
        _, created = services.channel_member_add(
            actor=moderator, channel_id=private_channel.pk, user=carol
        )
        assert created
        archived = services.channel_archive(moderator=moderator, channel_id=private_channel.pk)
        assert archived.is_archived
    with _as(alice), pytest.raises(PermissionDenied):
        services.message_create(user=alice, channel_id=private_channel.pk, content="late")
    with _as(moderator):
        services.channel_unarchive(moderator=moderator, channel_id=private_channel.pk)
    with _as(alice):
        message, _ = services.message_create(
            user=alice, channel_id=private_channel.pk, content="back"
        )
        assert message.seq == 1


def test_a_member_cannot_change_a_channel_through_a_moderator_service(
    alice: Any, channel: Any
) -> None:
    with _as(alice), pytest.raises(PermissionDenied):
        services.channel_archive(moderator=alice, channel_id=channel.pk)
