"""Django's PostgreSQL backend, plus the row-level security context on every connection.

Before a query runs, the connection's ``app.user_id`` and ``app.role`` are made to match
``chatsite.rls.current()``. Inside a transaction they are set with ``set_config(..., true)``
and so last only until it ends; in autocommit they are set for the session. Whatever Django
does that can undo or outlive a setting (commit, rollback, rollback to a savepoint, handing
the connection back to the pool) makes the backend forget what it set, so the next query sets
it again. A pooled connection therefore never runs a query under an earlier user's context.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from chatsite import rls

SET_CONTEXT_SQL = "SELECT set_config('app.user_id', %s, %s), set_config('app.role', %s, %s)"


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rls_applied: rls.DbContext | None = None
        self.execute_wrappers.append(self._apply_rls_context)

    def _apply_rls_context(
        self, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        wanted = rls.current()
        if wanted != self.rls_applied:
            local = not self.get_autocommit()
            with self.connection.cursor() as cursor:
                cursor.execute(SET_CONTEXT_SQL, [wanted.user_id, local, wanted.role, local])
            self.rls_applied = wanted
        return execute(sql, params, many, context)

    def init_connection_state(self) -> None:
        self.rls_applied = None
        super().init_connection_state()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self.rls_applied = None

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self.rls_applied = None

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)  # type: ignore[misc]
        finally:
            self.rls_applied = None

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self.rls_applied = None
