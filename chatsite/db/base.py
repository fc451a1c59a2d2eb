"""Django's PostgreSQL backend, plus the row-level security context on every connection.

Before a query runs, the connection's ``app.user_id`` and ``app.role`` are made to match
``chatsite.rls.current()``. Inside a transaction they are set with ``set_config(..., true)``
and so last only until it ends. Whatever Django does that can undo a setting (commit,
rollback, rollback to a savepoint) makes the backend forget what it set, so the next query
sets it again. Outside a transaction, an ordinary statement carries a transaction-local
context in the same message, which runs as one implicit transaction: the context covers that
statement and nothing after it. Only statements that refuse a transaction block (VACUUM, DDL
of some kinds) get a session-level setting, which is cleared before the connection goes back
to the pool. A pooled connection therefore never runs a query under an earlier user's
context, and not even a query that bypasses Django's cursors can see one.

Round trips: the context is sent in front of the query it is for (client-side binding allows
several statements per message), and Django's SAVEPOINT and RELEASE statements wait to go out
with the next query, or are dropped when nothing ran inside them or a COMMIT makes them moot.
Posting a message inside the request's transaction costs three round trips besides BEGIN and
COMMIT instead of nine.

Behind a transaction-pooling proxy (PgBouncer ``pool_mode = transaction``) a session-level
setting would stay on a server connection that the proxy then hands to another client. With
the option ``OPTIONS["rls_transaction_local"]`` (``DATABASE_TRANSACTION_POOLING=1``) the
statements that cannot carry their context run in a transaction of their own instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq
from psycopg_pool import ConnectionPool

from chatsite import rls

SET_CONTEXT_SQL = "SELECT set_config('app.user_id', %s, %s), set_config('app.role', %s, %s)"
BEGIN_WITH_CONTEXT_SQL = "BEGIN; " + SET_CONTEXT_SQL
CLEAR_SESSION_CONTEXT_SQL = (
    "SELECT set_config('app.user_id', '', false), set_config('app.role', '', false)"
)


# Statements that run fine inside a transaction block (unlike VACUUM, CREATE DATABASE, ...).
_PLAIN_STATEMENT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


def _set_context_literal_sql(context: rls.DbContext, local: bool) -> str:
    """SET_CONTEXT_SQL with its values inlined (quoted as SQL string literals)."""
    flag = "true" if local else "false"
    return (
        f"SELECT set_config('app.user_id', {psycopg.sql.quote(context.user_id)}, {flag}), "
        f"set_config('app.role', {psycopg.sql.quote(context.role)}, {flag})"
    )


def _usable(pool: ConnectionPool, connection: Any) -> bool:
    """Test a connection from the pool; a dead one goes back, where the pool drops it."""
    try:
        ConnectionPool.check_connection(connection)
    except psycopg.Error:
        pool.putconn(connection)
        return False
    return True


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The context in force on the connection (None: unknown, set it before the next query)
        # and the one set for the whole session (outlives transactions, also in the pool).
        self.rls_applied: rls.DbContext | None = None
        self.rls_session: rls.DbContext = rls.ANONYMOUS
        # True while Django runs ROLLBACK TO: see _savepoint_rollback.
        self.rls_paused = False
        # SAVEPOINT / RELEASE statements waiting to go out with the next query.
        self.deferred_sql: list[str] = []
        # Savepoints rolled back before their SAVEPOINT went out: nothing left to release.
        self.unsent_savepoints: set[str] = set()
        self.rls_transaction_local = bool(
            self.settings_dict.get("OPTIONS", {}).get("rls_transaction_local", False)
        )
        self.execute_wrappers.append(self._apply_rls_context)
        self.pool_check = bool(self.settings_dict.get("OPTIONS", {}).get("pool_check", False))

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("rls_transaction_local", None)
        params.pop("pool_check", None)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        """A connection from the pool, tested first (OPTIONS["pool_check"]).

        A connection that fails the test (one empty query) is dead: PostgreSQL restarted or
        went away, and the other idle connections are then most likely dead as well. The pool
        is told to test those at once (``ConnectionPool.check``, which replaces the dead ones
        in the background) and the request gets a fresh connection. psycopg_pool's own
        ``check`` option (Django's CONN_HEALTH_CHECKS) finds dead connections one at a time
        and backs off 1 s, then 2 s between them, so with three dead in the pool the first
        request after a restart waited out the pool timeout and was answered 503.
        """
        connection = super().get_new_connection(conn_params)
        pool: ConnectionPool | None = getattr(self, "pool", None)  # not in django-stubs
        if pool is None or not self.pool_check or _usable(pool, connection):
            return connection
        pool.check()
        connection = super().get_new_connection(conn_params)
        if not _usable(pool, connection):
            raise psycopg.OperationalError("a new pooled connection failed its check")
        return connection

    def _apply_rls_context(
        self, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if self.rls_paused:
            return execute(sql, params, many, context)
        wanted = rls.current()
        raw_cursor = getattr(context.get("cursor"), "cursor", None)
        can_prefix = not many and isinstance(raw_cursor, psycopg.ClientCursor)
        if self.get_autocommit():
            if can_prefix and _PLAIN_STATEMENT.match(sql):
                # A query and statements in front of it in one message run as one implicit
                # transaction: a transaction-local context covers the query and is gone
                # after it. One round trip, nothing left on the session to clear.
                return self._execute_prefixed(
                    [_set_context_literal_sql(wanted, local=True)], execute, sql, params, context
                )
            if self.rls_transaction_local:
                return self._execute_in_own_transaction(wanted, execute, sql, params, many, context)
        prefix = list(self.deferred_sql)
        self.deferred_sql.clear()
        local = not self.get_autocommit()
        if wanted != self.rls_applied:
            prefix.append(_set_context_literal_sql(wanted, local))
        if not prefix:
            return execute(sql, params, many, context)
        # Outside a transaction, what is left (DDL, VACUUM, CREATE DATABASE, ...) may refuse
        # to run in the implicit transaction of a shared message: the context goes alone.
        if not local or not can_prefix:
            with psycopg.ClientCursor(self.connection) as cursor:
                cursor.execute("; ".join(prefix))
            self._note_applied(wanted, local)
            return execute(sql, params, many, context)
        try:
            result = self._execute_prefixed(prefix, execute, sql, params, context)
        except BaseException:
            self.rls_applied = None
            raise
        self._note_applied(wanted, local)
        return result

    def _execute_prefixed(
        self, prefix: list[str], execute: Any, sql: str, params: Any, context: Any
    ) -> Any:
        """One round trip: ``prefix`` statements, then the query (client-side binding allows
        several statements); the cursor then moves on to the query's own result. A failure
        aborts the transaction, as the query alone would."""
        joined = "; ".join(prefix)
        if params is not None:
            joined = joined.replace("%", "%%")
        result = execute(f"{joined}; {sql}", params, False, context)
        raw_cursor = context["cursor"].cursor
        for _ in prefix:
            raw_cursor.nextset()
        return result

    def _forget_deferred(self) -> None:
        self.deferred_sql.clear()
        self.unsent_savepoints.clear()

    def _note_applied(self, wanted: rls.DbContext, local: bool) -> None:
        self.rls_applied = wanted
        if not local:
            self.rls_session = wanted

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
        self._forget_deferred()
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self.rls_applied = None

    def _rollback(self) -> None:
        self._forget_deferred()
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

    # Savepoints are deferred: SAVEPOINT and RELEASE wait in ``deferred_sql`` and go out in
    # front of the next query (see _apply_rls_context), so they cost no round trip of their
    # own. A savepoint with no query inside it is never sent; a RELEASE that a COMMIT,
    # ROLLBACK or ROLLBACK TO an earlier savepoint makes moot is dropped. A deferred
    # SAVEPOINT that runs in front of a failing query is still in place for ROLLBACK TO.
    def _savepoint(self, sid: str) -> None:
        self.deferred_sql.append(self.ops.savepoint_create_sql(sid))

    def _savepoint_commit(self, sid: str) -> None:
        if sid in self.unsent_savepoints:
            # Rolled back before it was ever sent (Django releases after rolling back).
            self.unsent_savepoints.discard(sid)
            return
        create = self.ops.savepoint_create_sql(sid)
        if create in self.deferred_sql:
            # Nothing ran inside it: forget it, and what was deferred after it.
            del self.deferred_sql[self.deferred_sql.index(create) :]
            return
        self.deferred_sql.append(self.ops.savepoint_commit_sql(sid))

    def _savepoint_rollback(self, sid: str) -> None:
        create = self.ops.savepoint_create_sql(sid)
        if create in self.deferred_sql:
            del self.deferred_sql[self.deferred_sql.index(create) :]
            self.unsent_savepoints.add(sid)
            return
        # Everything still deferred came after this savepoint, which ROLLBACK TO undoes; and
        # after a failed query the transaction accepts nothing else before it.
        self.deferred_sql.clear()
        try:
            # Savepoint statements need no context and must not get one: in an aborted
            # transaction a set_config in front of ROLLBACK TO would fail.
            with self._rls_paused():
                super()._savepoint_rollback(sid)  # type: ignore[misc]
        finally:
            # Rolling back to a savepoint undoes a set_config made after it.
            self.rls_applied = None

    def _close(self) -> None:
        self._forget_deferred()
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
