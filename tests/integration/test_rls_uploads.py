"""Row-level security of files_upload, through the runtime role (no BYPASSRLS): an upload is
its uploader's until a message carries it, then the readers' of that live message, direct
messages and private channels included (files/migrations/0001_initial.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import services
from files import services as files_services
from tests.factories import MembershipFactory, UserFactory
from tests.integration.test_rls import _runtime_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(user: Any, name: str) -> Any:
    return files_services.upload_create(user=user, file=SimpleUploadedFile(name, b"bytes"))


@pytest.fixture
def uploads(alice: Any, bob: Any, channel: Any, private_channel: Any) -> dict[str, Any]:
    MembershipFactory.create(channel=channel, user=bob)
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    made = {name: _upload(alice, f"{name}.txt") for name in ("free", "public", "private", "dm")}
    made["tomb"] = _upload(alice, "tomb.txt")
    made["bobs"] = _upload(bob, "bobs.txt")
    for name, where in (("public", channel), ("private", private_channel), ("dm", dm)):
        services.message_create(
            user=alice, channel_id=where.pk, content=name, attachment_ids=[made[name].pk]
        )
    tombstoned, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="gone", attachment_ids=[made["tomb"].pk]
    )
    services.message_delete(user=alice, message_id=tombstoned.pk)
    made["bobs_message"], _ = services.message_create(
        user=bob, channel_id=channel.pk, content="bob's"
    )
    made["alices_message"], _ = services.message_create(
        user=alice, channel_id=channel.pk, content="alice's"
    )
    return made


@contextmanager
def _as(user: Any | None, role: str = "authenticated") -> Iterator[psycopg.Connection[Any]]:
    with _runtime_connection() as raw:
        if user is not None:
            raw.execute("SELECT set_config('app.user_id', %s, false)", [str(user.pk)])
            raw.execute("SELECT set_config('app.role', %s, false)", [role])
        yield raw


def _names(raw: psycopg.Connection[Any]) -> set[str]:
    return {row[0] for row in raw.execute("SELECT name FROM files_upload").fetchall()}


def test_each_reader_sees_only_the_uploads_of_messages_they_can_read(
    uploads: Any, alice: Any, bob: Any
) -> None:
    moderator = UserFactory.create(username="mod", role="moderator")
    with _as(None) as raw:
        assert _names(raw) == set()
    with _as(alice) as raw:
        # Not the tombstoned message's file, nor bob's upload that no message carries.
        assert _names(raw) == {"free.txt", "public.txt", "private.txt", "dm.txt"}
    with _as(bob) as raw:
        assert _names(raw) == {"public.txt", "dm.txt", "bobs.txt"}
    with _as(moderator, "moderator") as raw:
        # Every channel, but no direct message, and nobody's upload in waiting.
        assert _names(raw) == {"public.txt", "private.txt"}


def test_members_attach_only_their_own_uploads_to_their_own_messages(
    uploads: Any, alice: Any, bob: Any
) -> None:
    attach = "UPDATE files_upload SET message_id = %s, attached_at = now() WHERE id = %s"
    with _as(bob) as raw:
        assert raw.execute(attach, [uploads["bobs_message"].pk, uploads["free"].pk]).rowcount == 0
    with _as(alice) as raw:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(attach, [uploads["bobs_message"].pk, uploads["free"].pk])
        # An attached upload stays where it is.
        moved = raw.execute(attach, [uploads["alices_message"].pk, uploads["public"].pk])
        assert moved.rowcount == 0
        assert raw.execute(attach, [uploads["alices_message"].pk, uploads["free"].pk]).rowcount == 1


def test_members_change_nothing_else_of_an_upload(uploads: Any, alice: Any, bob: Any) -> None:
    with _as(alice) as raw:
        for assignment in ("storage_key = 'elsewhere'", "size = 1", "content_type = 'text/html'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only attach"):
                raw.execute(
                    f"UPDATE files_upload SET {assignment} WHERE id = %s",  # noqa: S608
                    [uploads["free"].pk],
                )


def test_members_insert_only_their_own_unattached_uploads(
    uploads: Any, alice: Any, bob: Any
) -> None:
    insert = (
        "INSERT INTO files_upload (id, uploader_id, message_id, name, size, content_type, "
        "storage_key, thumbnail_key, created_at, attached_at) "
        "VALUES (gen_random_uuid(), %s, %s, 'x', 1, 'text/plain', %s, '', now(), %s)"
    )
    with _as(bob) as raw:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(insert, [alice.pk, None, "k1", None])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute(insert, [bob.pk, uploads["bobs_message"].pk, "k2", "2026-01-01"])
        # Nobody claims the bytes of another upload: storage keys are unique.
        with pytest.raises(psycopg.errors.UniqueViolation):
            raw.execute(insert, [bob.pk, None, uploads["private"].storage_key, None])
        assert raw.execute(insert, [bob.pk, None, "k3", None]).rowcount == 1


def test_members_delete_only_their_own_uploads_in_waiting(
    uploads: Any, alice: Any, bob: Any
) -> None:
    delete = "DELETE FROM files_upload WHERE id = %s"
    with _as(bob) as raw:
        assert raw.execute(delete, [uploads["free"].pk]).rowcount == 0
        assert raw.execute(delete, [uploads["public"].pk]).rowcount == 0
    with _as(alice) as raw:
        assert raw.execute(delete, [uploads["public"].pk]).rowcount == 0
        assert raw.execute(delete, [uploads["free"].pk]).rowcount == 1
        for ddl in (
            "ALTER TABLE files_upload DISABLE ROW LEVEL SECURITY",
            "DROP POLICY files_upload_select ON files_upload",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(ddl)


def test_members_cannot_rewrite_a_messages_attachments(uploads: Any, alice: Any) -> None:
    uploads["public"].refresh_from_db()
    message_id = uploads["public"].message_id
    assert message_id is not None
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="stays where")
    with _as(alice) as raw, refused:
        raw.execute("UPDATE chat_message SET attachments = '[]' WHERE id = %s", [message_id])
