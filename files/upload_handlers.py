"""How a multipart body reaches the disk: in chunks to a temporary file, never whole in
memory, and never past ``CHAT_UPLOAD_MAX_BYTES`` (docs/operations.md, "Attachments and
storage").

Django runs the handlers whoever parses the body first (the CSRF check of a session request
reads ``request.POST``, DRF's parser otherwise), so the refusal cannot be an exception: the
handler marks the request (``upload_refused``) and the upload view answers 413 from the mark.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

# Room for the multipart framing and the other fields around the file.
FRAMING_ALLOWANCE = 64 * 1024

REFUSED_ATTRIBUTE = "upload_refused"


def refused(request: Any) -> bool:
    """Whether the body of ``request`` was refused as too large."""
    return bool(getattr(request, REFUSED_ATTRIBUTE, False))


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, capped at ``CHAT_UPLOAD_MAX_BYTES`` per file."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        self.received = 0
        if content_length > settings.CHAT_UPLOAD_MAX_BYTES + FRAMING_ALLOWANCE:
            # Refused from the Content-Length: nothing of the body is read or stored.
            self._refuse()
            return QueryDict(), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received = start + len(raw_data)
        if self.received > settings.CHAT_UPLOAD_MAX_BYTES:
            # A body that understated its length: stop at the cap, keep nothing of the file
            # and read no further (the connection is closed after the answer).
            self._refuse()
            self.file.close()
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, REFUSED_ATTRIBUTE, True)
