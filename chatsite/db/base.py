"""Django's PostgreSQL backend, plus the row-level security context on every connection.

Before a query runs, the connection's ``app.user_id`` and ``app.role`` are made to match
``chatsite.rls.current()``. Inside a transaction they are set with ``set_config(..., true)``
and so last only until it ends; in autocommit they are set for the session. Whatever Django
does that can undo or outlive a setting (commit, rollback, rollback to a savepoint, handing
the connection back to the pool) makes the backend forget what it set, so the next query sets
it again. A pooled connection therefore never runs a query under an earlier user's context,
and before it goes back to the pool a user's session-level setting is cleared too, so not
even a query that bypasses Django's cursors (psql-like tooling on the raw connection, a
library) can see one.

Behind a transaction-pooling proxy (PgBouncer ``pool_mode = transaction``) a session-level
setting would stay on a server connection that the proxy then hands to another client, and
the query after it could even run on a different server connection. With the option
``OPTIONS["rls_transaction_local"]`` (``DATABASE_TRANSACTION_POOLING=1``) a query outside a
transaction therefore runs in a transaction of its own, with a transaction-local context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

from chatsite import rls

SET_CONTEXT_SQL = "SELECT set_config('app.user_id', %s, %s), set_config('app.role', %s, %s)"
BEGIN_WITH_CONTEXT_SQL = "BEGIN; " + SET_CONTEXT_SQL
CLEAR_SESSION_CONTEXT_SQL = (
    "SELECT set_config('app.user_id', '', false), set_config('app.role', '', false)"
)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The context in force on the connection (None: unknown, set it before the next query)
        # and the one set for the whole session (outlives transactions, also in the pool).
        self.rls_applied: rls.DbContext | None = None
        self.rls_session: rls.DbContext = rls.ANONYMOUS
        # True while Django runs SAVEPOINT / RELEASE / ROLLBACK TO: see _savepoint_rollback.
        self.rls_paused = False
        self.rls_transaction_local = bool(
            self.settings_dict.get("OPTIONS", {}).get("rls_transaction_local", False)
        )
        self.execute_wrappers.append(self._apply_rls_context)

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("rls_transaction_local", None)
        return params

    def _apply_rls_context(
        self, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        wanted = rls.current()
        if self.rls_transaction_local and not self.rls_paused and self.get_autocommit():
            return self._execute_in_own_transaction(wanted, execute, sql, params, many, context)
        if wanted != self.rls_applied and not self.rls_paused:
            local = not self.get_autocommit()
            with self.connection.cursor() as cursor:
                cursor.execute(SET_CONTEXT_SQL, [wanted.user_id, local, wanted.role, local])
            self.rls_applied = wanted
            if not local:
                self.rls_session = wanted
        return execute(sql, params, many, context)

    def _execute_in_own_transaction(
        self, wanted: rls.DbContext, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        """BEGIN and the context in one round trip, the query, then COMMIT (or ROLLBACK)."""
        with self.connection.cursor() as cursor:
            cursor.execute(BEGIN_WITH_CONTEXT_SQL, [wanted.user_id, True, wanted.role, True])
            try:
                result = execute(sql, params, many, context)
            except BaseException:
                if self.connection.info.transaction_status != pq.TransactionStatus.IDLE:
                    cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        return result

    def init_connection_state(self) -> None:
        self.rls_applied = None
        # A pooled connection comes back cleared (see _close); a new one has nothing set.
        self.rls_session = rls.ANONYMOUS
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

    @contextmanager
    def _rls_paused(self) -> Iterator[None]:
        self.rls_paused = True
        try:
            yield
        finally:
            self.rls_paused = False

    # Savepoint statements need no context, and must not get one: after a failed query the
    # transaction is aborted until ROLLBACK TO SAVEPOINT, so a set_config sent before it (the
    # code's context changed since the failed query) would fail and poison the whole
    # transaction. The context is set again by the next real query.
    def _savepoint(self, sid: str) -> None:
        with self._rls_paused():
            super()._savepoint(sid)  # type: ignore[misc]

    def _savepoint_commit(self, sid: str) -> None:
        with self._rls_paused():
            super()._savepoint_commit(sid)  # type: ignore[misc]

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            with self._rls_paused():
                super()._savepoint_rollback(sid)  # type: ignore[misc]
        finally:
            # Rolling back to a savepoint undoes a set_config made after it.
            self.rls_applied = None

    def _close(self) -> None:
        try:
            if getattr(self, "pool", None):
                self._clear_session_context()
            super()._close()  # type: ignore[misc]
        finally:
            self.rls_applied = None

    def _clear_session_context(self) -> None:
        """Leave no user's session-level context on a connection that goes back to the pool.

        Only needed after a query in autocommit mode as someone (one extra round trip then).
        A connection closed inside a transaction is rolled back first (the pool would do so
        anyway); a broken one is left to the pool, which discards it.
        """
        raw = self.connection
        if raw is None or self.rls_session == rls.ANONYMOUS:
            return
        try:
            if raw.info.transaction_status in (
                pq.TransactionStatus.INTRANS,
                pq.TransactionStatus.INERROR,
            ):
                raw.rollback()
            if raw.info.transaction_status != pq.TransactionStatus.IDLE:
                return
            with raw.cursor() as cursor:
                cursor.execute(CLEAR_SESSION_CONTEXT_SQL)
        except psycopg.Error:
            return
        self.rls_session = rls.ANONYMOUS
