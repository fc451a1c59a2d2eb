from __future__ import annotations

import uuid

import pytest

from chat import selectors, services
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Channel, Membership, Message
from tests.factories import ChannelFactory


def test_each_change_takes_the_channels_next_seq(post, alice, channel) -> None:
    first = post(alice, channel, "one")
    second = post(alice, channel, "two")
    edited = services.message_edit(user=alice, message_id=first.pk, content="one!")
    deleted = services.message_delete(user=alice, message_id=second.pk)

    assert (first.seq, first.change_seq) == (1, 1)
    assert (second.seq, second.change_seq) == (2, 2)
    assert (edited.seq, edited.change_seq) == (1, 3)
    assert (deleted.seq, deleted.change_seq) == (2, 4)
    assert deleted.content == "" and deleted.deleted_at is not None
    assert edited.edited_at is not None
    channel.refresh_from_db()
    assert channel.last_seq == 4


def test_repeated_client_id_returns_the_original_and_creates_nothing(alice, channel) -> None:
    client_id = uuid.uuid4()
    first, created = services.message_create(
        user=alice, channel_id=channel.pk, content="once", client_id=client_id
    )
    again, created_again = services.message_create(
        user=alice, channel_id=channel.pk, content="once", client_id=client_id
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    channel.refresh_from_db()
    assert channel.last_seq == 1


def test_a_repeat_gets_its_original_after_the_channel_closed_or_in_another_channel(
    alice, moderator, channel
) -> None:
    client_id = uuid.uuid4()
    first, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="once", client_id=client_id
    )
    other = ChannelFactory.create(name="elsewhere")
    again, created = services.message_create(
        user=alice, channel_id=other.pk, content="once", client_id=client_id
    )
    assert (again.pk, created) == (first.pk, False)
    services.channel_archive(moderator=moderator, channel_id=channel.pk)
    again, created = services.message_create(
        user=alice, channel_id=channel.pk, content="once", client_id=client_id
    )
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(PermissionDenied):
        services.message_create(
            user=alice, channel_id=channel.pk, content="new", client_id=uuid.uuid4()
        )
    assert Message.objects.count() == 1
    other.refresh_from_db()
    assert other.last_seq == 0


def test_posting_to_a_public_channel_joins_it(post, bob, channel) -> None:
    assert not Membership.objects.filter(user=bob, channel=channel).exists()
    post(bob, channel, "hello")
    assert Membership.objects.filter(user=bob, channel=channel, role="member").exists()


def test_private_channel_is_not_found_for_outsiders(bob, private_channel) -> None:
    with pytest.raises(NotFound):
        services.message_create(user=bob, channel_id=private_channel.pk, content="hi")
    with pytest.raises(NotFound):
        services.channel_join(user=bob, channel_id=private_channel.pk)


def test_archived_channel_refuses_posts(post, alice, channel) -> None:
    message = post(alice, channel, "before")
    Channel.objects.filter(pk=channel.pk).update(archived_at="2026-01-01T00:00:00Z")
    with pytest.raises(PermissionDenied) as raised:
        services.message_create(user=alice, channel_id=channel.pk, content="after")
    assert raised.value.code == "archived"
    with pytest.raises(PermissionDenied):
        services.message_edit(user=alice, message_id=message.pk, content="changed")


def test_only_the_author_edits_and_moderators_delete_any(post, alice, bob, moderator, channel):
    message = post(alice, channel, "mine")
    with pytest.raises(PermissionDenied):
        services.message_edit(user=bob, message_id=message.pk, content="theirs")
    with pytest.raises(PermissionDenied):
        services.message_delete(user=bob, message_id=message.pk)
    services.message_delete(user=moderator, message_id=message.pk)
    with pytest.raises(NotFound):
        services.message_delete(user=alice, message_id=message.pk)


def test_bad_content_is_a_validation_error_and_writes_nothing(alice, channel) -> None:
    with pytest.raises(ValidationError) as raised:
        services.message_create(user=alice, channel_id=channel.pk, content="\x00")
    assert "content" in raised.value.fields
    channel.refresh_from_db()
    assert channel.last_seq == 0
    assert Message.objects.count() == 0


def test_channel_create_makes_the_creator_owner_and_refuses_bad_names(alice) -> None:
    channel = services.channel_create(user=alice, name="design", topic="pixels")
    assert Membership.objects.get(channel=channel, user=alice).role == "owner"
    assert channel.title == "design"
    for name in ("design", "Bad Name", ""):
        with pytest.raises(ValidationError):
            services.channel_create(user=alice, name=name)


def test_join_leave_and_member_add(alice, bob, moderator, channel, private_channel) -> None:
    services.channel_join(user=bob, channel_id=channel.pk)
    services.channel_join(user=bob, channel_id=channel.pk)
    assert Membership.objects.filter(user=bob, channel=channel).count() == 1
    services.channel_leave(user=bob, channel_id=channel.pk)
    assert not Membership.objects.filter(user=bob, channel=channel).exists()

    with pytest.raises(PermissionDenied):
        services.channel_member_add(actor=bob, channel_id=channel.pk, user=moderator)
    _, created = services.channel_member_add(actor=alice, channel_id=private_channel.pk, user=bob)
    assert created
    with pytest.raises(PermissionDenied):
        services.channel_join(user=moderator, channel_id=private_channel.pk)


def test_read_marker_moves_forward_only_and_not_past_last_seq(post, alice, bob, channel):
    for text in ("a", "b", "c"):
        post(bob, channel, text)
    services.channel_mark_read(user=alice, channel_id=channel.pk, seq=2)
    listed = selectors.channel_list(user=alice).get(pk=channel.pk)
    unread = listed.unread_count  # type: ignore[attr-defined]
    assert unread == 1
    services.channel_mark_read(user=alice, channel_id=channel.pk, seq=1)
    services.channel_mark_read(user=alice, channel_id=channel.pk, seq=99)
    assert Membership.objects.get(user=alice, channel=channel).last_read_seq == 3
    with pytest.raises(ValidationError):
        services.channel_mark_read(user=alice, channel_id=channel.pk, seq=-1)


def test_message_page_walks_with_cursors(post, alice, channel) -> None:
    messages = [post(alice, channel, f"m{i}") for i in range(7)]
    latest, has_more = selectors.message_page(user=alice, channel_id=channel.pk, limit=3)
    assert [m.content for m in latest] == ["m4", "m5", "m6"] and has_more
    older, has_more = selectors.message_page(
        user=alice, channel_id=channel.pk, limit=3, before=latest[0].pk
    )
    assert [m.content for m in older] == ["m1", "m2", "m3"] and has_more
    newer, has_more = selectors.message_page(
        user=alice, channel_id=channel.pk, limit=3, after=messages[4].pk
    )
    assert [m.content for m in newer] == ["m5", "m6"] and not has_more
    services.message_delete(user=alice, message_id=messages[0].pk)
    changes, _ = selectors.message_page(user=alice, channel_id=channel.pk, since_seq=6)
    assert [(m.content, m.change_seq) for m in changes] == [("m6", 7), ("", 8)]
    with pytest.raises(ValidationError):
        selectors.message_page(user=alice, channel_id=channel.pk, before=uuid.uuid4())
    other = ChannelFactory.create()
    with pytest.raises(ValidationError):
        selectors.message_page(user=alice, channel_id=other.pk, after=messages[0].pk)
