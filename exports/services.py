"""Per-user exports: asking for one, building it in the worker, finding one to download,
removing expired ones (docs/integrations.md, "Exporting your own data").

The archive holds what the user made and set: their profile, their own messages in every
channel and direct message they wrote in (in seq order per conversation), their reactions,
the files of their uploads, their memberships and notification settings. It is built by the
worker as the service role, read a page at a time, streamed into a zip in a temporary file,
then stored under ``exports/`` in the attachments' storage. Only its user may fetch it, until
it expires (CHAT_USER_EXPORT_DAYS).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from chat.exceptions import NotFound
from chat.models import Channel, Membership, Message, Reaction
from chat.services import base
from chatsite import ratelimit, rls
from exports import selectors, shapes
from exports.channel_export import dumps
from exports.models import UserExport
from files import storage
from files.models import Upload

logger = logging.getLogger(__name__)


def user_export_data(export: UserExport) -> dict[str, Any]:
    """An export in its REST shape; ``download_url`` only when it is ready."""
    ready = export.status == UserExport.Status.READY
    return {
        "id": str(export.pk),
        "status": export.status,
        "created_at": shapes.iso(export.created_at),
        "finished_at": shapes.iso(export.finished_at),
        "expires_at": shapes.iso(export.expires_at),
        "size": export.size,
        "download_url": reverse("api-account-export-download", args=[export.pk]) if ready else None,
    }


@transaction.atomic
def user_export_request(*, user: User) -> UserExport:
    """Queue an archive of the user's own data (CHAT_USER_EXPORT_RATE: one a day by default)."""
    from exports import tasks
    from worker.registry import enqueue

    base.check_rate(ratelimit.USER_EXPORT, user, "exports")
    export = UserExport.objects.create(user=user)
    enqueue(tasks.build_user_export, str(export.pk))
    return export


def user_export_get(*, user: User, export_id: Any) -> UserExport:
    """One of the user's own exports that has not expired; anyone else's is a 404."""
    if not isinstance(export_id, uuid.UUID):
        raise NotFound("Export not found.")
    export = UserExport.objects.filter(pk=export_id, user=user).first()
    if export is None or (export.expires_at is not None and export.expires_at <= timezone.now()):
        raise NotFound("Export not found.")
    return export


def user_export_latest(*, user: User) -> UserExport | None:
    """The user's newest export that has not expired, if any."""
    now = timezone.now()
    return (
        UserExport.objects.filter(user=user)
        .exclude(expires_at__lte=now)
        .order_by("-created_at")
        .first()
    )


def user_export_download(*, user: User, export_id: Any) -> UserExport:
    export = user_export_get(user=user, export_id=export_id)
    if export.status != UserExport.Status.READY:
        raise NotFound("This export is not ready yet.")
    return export


def _write_lines(archive: zipfile.ZipFile, name: str, rows: Any) -> None:
    with archive.open(name, "w") as out:
        for row in rows:
            out.write((dumps(row) + "\n").encode())


def _own_messages(archive: zipfile.ZipFile, user: User, page_size: int) -> None:
    channel_ids = Message.objects.filter(user=user).order_by().values("channel_id").distinct()
    for channel in Channel.objects.filter(pk__in=channel_ids).order_by("name"):
        with archive.open(f"messages/{channel.name}.jsonl", "w") as out:
            for page in selectors.message_pages(channel=channel, page_size=page_size, user=user):
                uploads = selectors.uploads_of(page)
                for message in page:
                    line = shapes.message_line(message, uploads.get(message.pk, []))
                    out.write((dumps(line) + "\n").encode())


def _reactions(user: User) -> Any:
    rows = Reaction.objects.filter(user=user).select_related("message__channel")
    for reaction in rows.order_by("created_at", "id").iterator(chunk_size=500):
        yield {
            "emoji": reaction.emoji,
            "created_at": shapes.iso(reaction.created_at),
            "message_id": str(reaction.message_id),
            "channel": reaction.message.channel.name,
        }


def _memberships(user: User) -> Any:
    rows = Membership.objects.filter(user=user).select_related("channel").order_by("joined_at")
    for membership in rows:
        yield {
            "channel": membership.channel.name,
            "channel_id": str(membership.channel_id),
            "kind": membership.channel.kind,
            "role": membership.role,
            "joined_at": shapes.iso(membership.joined_at),
            "notify": membership.notify,
            "muted": membership.muted,
            "last_read_seq": membership.last_read_seq,
        }


def _notification_settings(user: User) -> dict[str, Any]:
    from notifications.models import NotificationPreference

    preference = NotificationPreference.objects.filter(user=user).first()
    return {"email_enabled": preference.email_enabled if preference else True}


def build_archive(*, user: User, target: Any, page_size: int = 500) -> None:
    """Write the user's archive as a zip into the open binary file ``target``."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("profile.json", dumps(shapes.user_line(user)) + "\n")
        archive.writestr("notification_settings.json", dumps(_notification_settings(user)) + "\n")
        _write_lines(archive, "memberships.jsonl", _memberships(user))
        _write_lines(archive, "reactions.jsonl", _reactions(user))
        _own_messages(archive, user, page_size)
        uploads = Upload.objects.filter(uploader=user).order_by("created_at", "id")
        _write_lines(
            archive, "uploads.jsonl", (shapes.attachment_line(u) for u in uploads.iterator())
        )
        for upload in uploads.iterator(chunk_size=200):
            with (
                storage.open_file(upload.storage_key) as source,
                archive.open(shapes.upload_path(upload), "w") as out,
            ):
                shutil.copyfileobj(source, out, 1024 * 1024)


def user_export_build(*, export_id: Any) -> str:
    """Build a queued export (the worker's task); its final status."""
    with rls.acting_as_service():
        updated = UserExport.objects.filter(
            pk=export_id, status__in=[UserExport.Status.PENDING, UserExport.Status.RUNNING]
        ).update(status=UserExport.Status.RUNNING)
        if not updated:
            return "gone"
        export = UserExport.objects.select_related("user").get(pk=export_id)
        key = f"exports/{export.user_id}/{export.pk.hex}.zip"
        try:
            with tempfile.TemporaryFile() as spool:
                build_archive(user=export.user, target=spool)
                size = spool.tell()
                spool.seek(0)
                stored = storage.save(key, File(spool, name=key))
        except Exception:
            UserExport.objects.filter(pk=export.pk).update(
                status=UserExport.Status.FAILED, finished_at=timezone.now()
            )
            logger.exception("exports.user_export_failed", extra={"export_id": str(export.pk)})
            raise
        now = timezone.now()
        UserExport.objects.filter(pk=export.pk).update(
            status=UserExport.Status.READY,
            storage_key=stored,
            size=size,
            finished_at=now,
            expires_at=now + timedelta(days=settings.CHAT_USER_EXPORT_DAYS),
        )
    logger.info("exports.user_export_ready", extra={"export_id": str(export.pk), "size": size})
    return UserExport.Status.READY.value


def user_exports_remove_expired() -> int:
    """Delete the exports past ``expires_at`` with their files; how many went."""
    removed = 0
    with rls.acting_as_service():
        expired = UserExport.objects.filter(expires_at__lte=timezone.now())
        for export in expired.iterator(chunk_size=200):
            storage.delete_quietly([export.storage_key])
            export.delete()
            removed += 1
    return removed
