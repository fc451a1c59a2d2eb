"""Chat's background work, run by the worker (docs/integrations.md, "Retention")."""

from __future__ import annotations

from chat.services import retention
from worker.registry import background_task


@background_task()
def apply_retention() -> int:
    """Delete the messages past their channel's retention; how many went."""
    return sum(result.messages for result in retention.retention_apply())
