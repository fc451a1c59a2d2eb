"""Retention (chat/services/retention.py): which messages go, with what hangs off them, the
channel's override over CHAT_RETENTION_DAYS, thread counts, the audit entry, the moderators'
PATCH, and the replay's ``trimmed_seq``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import User
from chat import services
from chat.exceptions import PermissionDenied
from chat.models import Channel, Message, Reaction
from chat.services import retention
from files import services as files_services
from files import storage
from files.models import Upload
from notifications.models import Mention
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def age(message: Any, days: float) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days))


def seqs(channel: Any) -> list[int]:
    return list(
        Message.objects.filter(channel=channel).order_by("seq").values_list("seq", flat=True)
    )


def test_nothing_is_deleted_by_default(settings: Any, alice: Any, channel: Any, post: Any) -> None:
    settings.CHAT_RETENTION_DAYS = 0
    age(post(alice, channel, "ancient"), 4000)
    assert retention.retention_apply() == []
    assert seqs(channel) == [1]


def test_site_setting_deletes_old_messages_with_reactions_mentions_files_and_search_rows(
    settings: Any,
    alice: Any,
    bob: Any,
    channel: Any,
    post: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CHAT_RETENTION_DAYS = 30
    MembershipFactory.create(channel=channel, user=bob)
    upload = files_services.upload_create(user=alice, file=SimpleUploadedFile("a.txt", b"abc"))
    old = post(alice, channel, "old news @bob", attachment_ids=[upload.pk])
    services.reaction_add(user=bob, message_id=old.pk, emoji="🎉")
    age(old, 31)
    kept = post(alice, channel, "fresh")
    assert Mention.objects.filter(message=old).exists()
    assert storage.backend().exists(upload.storage_key)

    with django_capture_on_commit_callbacks(execute=True):
        results = retention.retention_apply()

    assert [(r.channel_id, r.messages, r.reactions, r.files) for r in results] == [
        (str(channel.pk), 1, 1, 1)
    ]
    assert list(Message.objects.filter(channel=channel)) == [kept]
    assert not Reaction.objects.exists()
    assert not Mention.objects.filter(message_id=old.pk).exists()
    assert not Upload.objects.filter(pk=upload.pk).exists()
    assert not storage.backend().exists(upload.storage_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM chat_message_search WHERE message_id = %s", [old.pk])
        assert cursor.fetchone() == (0,)
    channel.refresh_from_db()
    # The reaction took seq 2 (a change of the old message); retention deleted up to seq 1.
    assert channel.trimmed_seq == old.seq


def test_channel_override_wins_over_the_site_setting(
    settings: Any, alice: Any, channel: Any, private_channel: Any, post: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 10
    forever = post(alice, channel, "keep me")
    short = post(alice, private_channel, "short lived")
    age(forever, 100)
    age(short, 3)
    Channel.objects.filter(pk=channel.pk).update(retention_days=0)
    Channel.objects.filter(pk=private_channel.pk).update(retention_days=2)
    results = retention.retention_apply()
    assert [r.channel_id for r in results] == [str(private_channel.pk)]
    assert Message.objects.filter(pk=forever.pk).exists()
    assert not Message.objects.filter(pk=short.pk).exists()


def test_override_applies_when_the_site_keeps_forever(
    settings: Any, alice: Any, channel: Any, post: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 0
    age(post(alice, channel, "one"), 5)
    Channel.objects.filter(pk=channel.pk).update(retention_days=1)
    assert [r.messages for r in retention.retention_apply()] == [1]


def test_batches_delete_everything_in_several_transactions(
    settings: Any, alice: Any, channel: Any, post: Any, monkeypatch: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 1
    messages = [post(alice, channel, f"m{n}") for n in range(7)]
    for message in messages[:5]:
        age(message, 2)
    deleted = []
    original = retention._delete_batch

    def counting(**kwargs: Any) -> tuple[int, int, int]:
        found = original(**kwargs)
        deleted.append(found[0])
        return found

    monkeypatch.setattr(retention, "_delete_batch", counting)
    result = retention.retention_apply_channel(channel_id=channel.pk, batch_size=2)
    assert deleted == [2, 2, 1, 0]
    assert result.messages == 5
    assert seqs(channel) == [6, 7]


def test_a_thread_with_a_newer_reply_keeps_its_root_and_recounts(
    settings: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 1
    root = post(alice, channel, "root")
    old_reply = post(bob, channel, "old reply", parent_id=root.pk)
    gone_root = post(alice, channel, "old thread")
    gone_reply = post(bob, channel, "old thread reply", parent_id=gone_root.pk)
    for message in (root, old_reply, gone_root, gone_reply):
        age(message, 3)
    new_reply = post(bob, channel, "new reply", parent_id=root.pk)
    retention.retention_apply()
    root.refresh_from_db()
    assert root.reply_count == 1
    assert set(Message.objects.filter(channel=channel)) == {root, new_reply}
    channel.refresh_from_db()
    assert channel.trimmed_seq == gone_reply.seq


def test_each_run_writes_one_audit_entry_per_channel_with_counts(
    settings: Any, alice: Any, channel: Any, post: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 7
    for n in range(3):
        age(post(alice, channel, f"old {n}"), 8)
    retention.retention_apply(batch_size=1)
    entries = list(LogEntry.objects.filter(object_id=str(channel.pk)))
    assert len(entries) == 1
    assert "deleted 3 messages, 0 reactions and 0 files" in entries[0].change_message
    account = User.objects.get(pk=entries[0].user_id)
    assert account.username == retention.RETENTION_ACCOUNT
    assert not account.is_active and account.is_bot
    # A run that finds nothing writes nothing.
    retention.retention_apply()
    assert LogEntry.objects.filter(object_id=str(channel.pk)).count() == 1


def test_purge_takes_no_seq_and_sends_one_channel_update(
    settings: Any, alice: Any, channel: Any, post: Any, monkeypatch: Any
) -> None:
    settings.CHAT_RETENTION_DAYS = 1
    for n in range(4):
        age(post(alice, channel, f"old {n}"), 2)
    channel.refresh_from_db()
    before = channel.last_seq
    sent: list[Any] = []
    monkeypatch.setattr(retention.events, "notify_channel_updated", sent.append)
    retention.retention_apply()
    channel.refresh_from_db()
    assert channel.last_seq == before
    assert [c.trimmed_seq for c in sent] == [4]


def test_moderator_sets_retention_and_it_is_audited(moderator: Any, channel: Any) -> None:
    updated = services.channel_update(actor=moderator, channel_id=channel.pk, retention_days=30)
    assert updated.retention_days == 30
    services.channel_update(actor=moderator, channel_id=channel.pk, retention_days=None)
    channel.refresh_from_db()
    assert channel.retention_days is None
    messages = list(
        LogEntry.objects.filter(object_id=str(channel.pk))
        .order_by("pk")
        .values_list("change_message", flat=True)
    )
    assert messages == ["Set retention to 30 days.", "Set retention to the site's default."]


def test_owner_may_not_set_retention(alice: Any, channel: Any) -> None:
    with pytest.raises(PermissionDenied) as raised:
        services.channel_update(actor=alice, channel_id=channel.pk, retention_days=0)
    assert raised.value.code == "moderators_only"
    channel.refresh_from_db()
    assert channel.retention_days is None
