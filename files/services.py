"""Uploads: storing a file, attaching uploads to a message, finding one to download, and
removing what was never attached (docs/api.md, "Attachments"; docs/architecture.md)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from chat import selectors
from chat.exceptions import NotFound, TooLarge, ValidationError
from chat.models import Message
from chat.services import base
from chatsite import ratelimit, rls
from files import images, sniffing, storage
from files.models import Upload

logger = logging.getLogger(__name__)

# At most this many files on one message.
MAX_ATTACHMENTS = 10


def upload_data(upload: Upload) -> dict[str, Any]:
    """An upload in its public shape, the same in the upload's answer and in a message's
    ``attachments``."""
    return {
        "id": str(upload.pk),
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "url": reverse("api-upload-content", args=[upload.pk]),
        "thumbnail_url": (
            reverse("api-upload-thumbnail", args=[upload.pk]) if upload.thumbnail_key else None
        ),
        "width": upload.width,
        "height": upload.height,
    }


def _storage_key(upload_id: uuid.UUID) -> str:
    # Never derived from the file's name: a name cannot reach outside the storage's root.
    now = timezone.now()
    return f"{now:%Y/%m}/{upload_id.hex}"


@transaction.atomic
def upload_create(*, user: User, file: UploadedFile | None) -> Upload:
    """Store an uploaded file: its type read from the bytes, its name cleaned, an image's
    thumbnail made. Nothing is stored for a file that is refused."""
    base.check_rate(ratelimit.UPLOAD, user, "uploads")
    return upload_store(user=user, file=file)


def upload_store(*, user: User, file: UploadedFile | None) -> Upload:
    """``upload_create`` without the uploader's rate budget: for the Slack import
    (integrations/importers/slack.py), which stores an export's files for their authors."""
    if file is None:
        problem = "Send the file as the multipart field 'file'."
        raise ValidationError(problem, fields={"file": [problem]})
    limit = settings.CHAT_UPLOAD_MAX_BYTES
    if file.size is None or file.size > limit:
        raise TooLarge(
            f"The file is larger than {limit} bytes.",
            fields={"file": [f"At most {limit} bytes."]},
        )
    if file.size == 0:
        raise ValidationError("The file is empty.", fields={"file": ["The file is empty."]})
    name = sniffing.clean_name(file.name)
    file.seek(0)
    sniffed = sniffing.sniff(file.read(sniffing.HEAD_BYTES))
    mismatch = sniffing.name_problem(name, sniffed)
    if mismatch:
        raise ValidationError(mismatch, code="type_mismatch", fields={"file": [mismatch]})
    thumb = images.thumbnail(file) if sniffed.inline_image else None
    upload_id = uuid.uuid4()
    key = _storage_key(upload_id)
    stored: list[str] = []
    try:
        file.seek(0)
        stored.append(storage.save(key, file))
        thumbnail_key = ""
        if thumb is not None:
            thumbnail_key = storage.save(f"{key}.thumb.webp", ContentFile(thumb.data))
            stored.append(thumbnail_key)
        return Upload.objects.create(
            id=upload_id,
            uploader=user,
            name=name,
            size=file.size,
            content_type=sniffed.content_type,
            storage_key=stored[0],
            thumbnail_key=thumbnail_key,
            width=thumb.width if thumb else None,
            height=thumb.height if thumb else None,
        )
    except Exception:
        storage.delete_quietly(stored)
        raise


def _attachment_problem(problem: str) -> ValidationError:
    return ValidationError(problem, code="bad_attachment", fields={"attachment_ids": [problem]})


def uploads_claim(*, user: User, upload_ids: Sequence[Any]) -> list[Upload]:
    """Lock the uploads a new message of ``user`` will carry, in the order given: each must
    be the user's own and not on a message yet. Call inside the message's transaction."""
    if not upload_ids:
        # Most messages carry none; building the (empty) locking query cost about a tenth of
        # a post's server CPU (docs/performance.md, "Round 3: posting a message").
        return []
    if len(upload_ids) > MAX_ATTACHMENTS:
        raise _attachment_problem(f"At most {MAX_ATTACHMENTS} files per message.")
    if len(set(upload_ids)) != len(upload_ids):
        raise _attachment_problem("The same upload is named twice.")
    found = {
        upload.pk: upload
        for upload in Upload.objects.select_for_update().filter(
            pk__in=upload_ids, uploader=user, message__isnull=True
        )
    }
    missing = [str(upload_id) for upload_id in upload_ids if upload_id not in found]
    if missing:
        raise _attachment_problem(
            "Not an upload of yours that is free to attach: " + ", ".join(missing) + "."
        )
    return [found[upload_id] for upload_id in upload_ids]


def attachments_data(uploads: Iterable[Upload]) -> list[dict[str, Any]]:
    """The ``attachments`` of a message that carries ``uploads``."""
    return [upload_data(upload) for upload in uploads]


def uploads_attach(*, uploads: Sequence[Upload], message: Message) -> None:
    """Put claimed uploads on the message just created (same transaction)."""
    if uploads:
        Upload.objects.filter(pk__in=[upload.pk for upload in uploads]).update(
            message=message, attached_at=timezone.now()
        )


def upload_get(*, user: User, upload_id: Any) -> Upload:
    """An upload the user may fetch: their own while no message carries it, afterwards one on
    a live message they can read. Anything else is a 404, whoever knows the id."""
    base.check_rate(ratelimit.DOWNLOAD, user, "downloads")
    if not isinstance(upload_id, uuid.UUID):
        raise NotFound("File not found.")
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        raise NotFound("File not found.")
    if upload.message_id is None:
        if upload.uploader_id != user.pk:
            raise NotFound("File not found.")
        return upload
    try:
        selectors.message_get(user=user, message_id=upload.message_id)
    except NotFound:
        raise NotFound("File not found.") from None
    return upload


@transaction.atomic
def upload_delete(*, user: User, upload_id: Any) -> None:
    """Withdraw one's own upload before any message carries it."""
    upload = (
        Upload.objects.select_for_update()
        .filter(pk=upload_id, uploader=user, message__isnull=True)
        .first()
    )
    if upload is None:
        raise NotFound("No upload of yours by that id is waiting to be attached.")
    keys = [upload.storage_key, upload.thumbnail_key]
    upload.delete()
    transaction.on_commit(lambda: storage.delete_quietly(keys))


def uploads_remove_stale(*, older_than: timedelta | None = None) -> int:
    """Delete the uploads no message took within ``older_than`` (CHAT_UPLOAD_STALE_HOURS by
    default), their bytes first. Runs as the service; returns how many went."""
    if older_than is None:
        older_than = timedelta(hours=settings.CHAT_UPLOAD_STALE_HOURS)
    cutoff = timezone.now() - older_than
    removed = 0
    with rls.acting_as_service():
        stale = Upload.objects.filter(message__isnull=True, created_at__lt=cutoff)
        for upload in stale.iterator(chunk_size=200):
            with transaction.atomic():
                # Locked and checked again: a message may have taken it meanwhile.
                locked = (
                    Upload.objects.select_for_update(skip_locked=True)
                    .filter(pk=upload.pk, message__isnull=True)
                    .first()
                )
                if locked is None:
                    continue
                storage.delete_quietly([locked.storage_key, locked.thumbnail_key])
                locked.delete()
                removed += 1
    if removed:
        logger.info("uploads.removed_stale", extra={"count": removed})
    return removed
