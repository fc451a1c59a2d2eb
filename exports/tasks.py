"""The exports' background work, run by the worker (docs/integrations.md, "Exporting your own
data")."""

from __future__ import annotations

from exports import services
from worker.registry import background_task


@background_task(max_attempts=1)
def build_user_export(export_id: str) -> str:
    """Build one user's archive into storage. Not retried: a failure shows as ``failed``."""
    return services.user_export_build(export_id=export_id)


@background_task()
def remove_expired_user_exports() -> int:
    """Delete the archives past their expiry, with their files; how many went."""
    return services.user_exports_remove_expired()
