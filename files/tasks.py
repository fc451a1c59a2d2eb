"""The files app's background work, run by the worker (docs/operations.md, "Attachments and
storage")."""

from __future__ import annotations

from files import services
from worker.registry import background_task


@background_task()
def remove_stale_uploads() -> int:
    """Delete the uploads no message took within CHAT_UPLOAD_STALE_HOURS; how many went."""
    return services.uploads_remove_stale()
