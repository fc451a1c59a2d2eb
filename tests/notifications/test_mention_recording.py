"""Who a message mentions, recorded at send, edit, delete, tombstone and restore
(notifications.services.mentions_record), on the real PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from accounts import services as accounts_services
from chat import presence, services
from chat.models import Membership
from notifications.models import Mention
from notifications.services import mentioned_in, should_notify
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _mentions(message: Any) -> dict[str, str]:
    return {
        mention.user.username: mention.kind
        for mention in Mention.objects.filter(message=message).select_related("user")
    }


@pytest.fixture
def carol(channel: Any) -> Any:
    carol = UserFactory.create(username="carol")
    MembershipFactory.create(channel=channel, user=carol)
    return carol


@pytest.fixture
def bob_member(bob: Any, channel: Any) -> Any:
    MembershipFactory.create(channel=channel, user=bob)
    return bob


def test_a_username_mention_is_recorded_for_that_member_only(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "hi @bob, look")
    assert _mentions(message) == {"bob": "user"}
    mention = Mention.objects.get(message=message)
    assert mention.channel_id == channel.pk


def test_the_author_never_mentions_themself(alice: Any, channel: Any, post: Any) -> None:
    message = post(alice, channel, "note to @alice")
    assert _mentions(message) == {}


def test_mentions_in_code_are_not_mentions(
    alice: Any, bob_member: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "`@bob` and\n```\n@bob\n```")
    assert _mentions(message) == {}


def test_a_non_member_of_a_private_channel_gets_nothing(
    alice: Any, bob: Any, private_channel: Any, post: Any
) -> None:
    message = post(alice, private_channel, "@bob should not hear of this")
    assert _mentions(message) == {}
    assert not Mention.objects.filter(user=bob).exists()


def test_a_non_member_of_a_public_channel_gets_nothing_either(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "@bob is not here")
    assert _mentions(message) == {}


def test_channel_reaches_every_member_and_a_direct_mention_wins(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "@channel meeting, @carol leads")
    assert _mentions(message) == {"bob": "channel", "carol": "user"}


def test_here_reaches_only_the_members_with_an_open_connection(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any
) -> None:
    async_to_sync(presence.connection_opened)(user_id=bob_member.pk, connection="test.bob")
    try:
        message = post(alice, channel, "@here quick question")
    finally:
        async_to_sync(presence.connection_closed)(user_id=bob_member.pk, connection="test.bob")
    assert _mentions(message) == {"bob": "here"}


def test_deactivated_users_get_nothing(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any, moderator: Any
) -> None:
    accounts_services.user_deactivate(actor=moderator, user=carol)
    message = post(alice, channel, "@channel and @carol")
    assert _mentions(message) == {"bob": "channel"}


def test_an_edit_removes_a_mention_taken_out_and_adds_a_new_one(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "@bob and @carol")
    kept = Mention.objects.get(message=message, user=carol)
    services.message_edit(user=alice, message_id=message.pk, content="only @carol now")
    assert _mentions(message) == {"carol": "user"}
    assert Mention.objects.get(message=message, user=carol).pk == kept.pk
    services.message_edit(user=alice, message_id=message.pk, content="@channel")
    assert _mentions(message) == {"bob": "channel", "carol": "channel"}


def test_a_deleted_message_mentions_nobody(
    alice: Any, bob_member: Any, channel: Any, post: Any
) -> None:
    message = post(alice, channel, "@bob")
    services.message_delete(user=alice, message_id=message.pk)
    assert _mentions(message) == {}


def test_a_tombstone_takes_the_mentions_and_a_restore_brings_them_back(
    alice: Any, bob_member: Any, channel: Any, post: Any, moderator: Any
) -> None:
    message = post(alice, channel, "@bob")
    services.message_tombstone_by_moderator(moderator=moderator, message_id=message.pk)
    assert _mentions(message) == {}
    services.message_restore(moderator=moderator, message_id=message.pk)
    assert _mentions(message) == {"bob": "user"}


def test_every_direct_message_is_recorded_for_the_other_members(
    alice: Any, bob: Any, post: Any
) -> None:
    carol = UserFactory.create(username="carol")
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk, carol.pk])
    message = post(alice, dm, "lunch?")
    assert _mentions(message) == {"bob": "dm", "carol": "dm"}


def test_a_reply_records_its_mentions_too(
    alice: Any, bob_member: Any, channel: Any, post: Any
) -> None:
    parent = post(alice, channel, "thread")
    reply = post(alice, channel, "@bob see above", parent_id=parent.pk)
    assert _mentions(reply) == {"bob": "user"}


def test_muted_and_none_are_recorded_but_do_not_alert(
    alice: Any, bob_member: Any, carol: Any, channel: Any, post: Any
) -> None:
    Membership.objects.filter(user=bob_member, channel=channel).update(muted=True)
    Membership.objects.filter(user=carol, channel=channel).update(notify="none")
    message = post(alice, channel, "@bob @carol")
    assert _mentions(message) == {"bob": "user", "carol": "user"}
    memberships = Membership.objects.filter(channel=channel)
    alerts = {m.user.username: should_notify(m) for m in memberships.select_related("user")}
    assert alerts == {"alice": True, "bob": False, "carol": False}
    assert should_notify(None) is False


def test_mentioned_in_reads_the_rendered_spans() -> None:
    rendered = (
        '<p><span class="mention" data-user-id="7">@bob</span> '
        '<span class="mention mention-all" data-mention="here">@here</span></p>'
    )
    assert mentioned_in(rendered) == ({"7"}, {"here"})
    assert mentioned_in("<p>@bob</p>") == (set(), set())
