"""Where the bytes of uploads live: the ``attachments`` entry of STORAGES (local files, or an
S3-compatible bucket with STORAGE_URL; docs/operations.md "Attachments and storage")."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import IO, Any

from django.core.files.storage import FileSystemStorage, Storage, storages

logger = logging.getLogger(__name__)


def backend() -> Storage:
    return storages["attachments"]


def is_local() -> bool:
    """Whether the bytes are files on this host (served by Django or by nginx)."""
    return isinstance(backend(), FileSystemStorage)


def save(key: str, content: Any) -> str:
    """Store ``content`` under ``key`` (streamed in chunks); returns the key it got."""
    return backend().save(key, content)


def open_file(key: str) -> IO[bytes]:
    return backend().open(key, "rb")


def presigned_url(key: str, *, parameters: dict[str, str]) -> str:
    """A short-lived URL of the object in the bucket (CHAT_UPLOAD_URL_SECONDS)."""
    return str(backend().url(key, parameters=parameters))  # type: ignore[call-arg]


def delete_quietly(keys: Iterable[str]) -> None:
    """Delete stored objects, logging (not raising) a failure: a leftover object is harmless,
    a failed request or sweep is not."""
    for key in keys:
        if not key:
            continue
        try:
            backend().delete(key)
        except Exception:
            logger.exception("uploads.delete_failed", extra={"key": key})
