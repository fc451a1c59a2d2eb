"""Django's PostgreSQL backend, plus the row-level security context on every connection.

Before a query runs, the connection's ``app.user_id`` and ``app.role`` are made to match
``chatsite.rls.current()``. Inside a transaction they are set with ``set_config(..., true)``
and so last only until it ends. Whatever Django does that can undo a setting (commit,
rollback, rollback to a savepoint) makes the backend forget what it set, so the next query
sets it again.

Outside a transaction, a SELECT, INSERT, UPDATE, DELETE or WITH carries a transaction-local
context in the same message, which runs as one implicit transaction: the context covers that
statement and nothing after it. Anything else run in autocommit (other statements, some of
which refuse a transaction block; executemany; server-side cursors) gets a session-level
setting sent alone, which is cleared before the connection goes back to the pool. A pooled
connection therefore never runs a query under an earlier user's context, and not even a
query that bypasses Django's cursors can see one.

Round trips: the context is sent in front of the statement it is for (client-side binding
allows several statements per message), so it costs none of its own. Savepoints are Django's
own: the backend only watches ROLLBACK TO, which undoes a context set after the savepoint.

Behind a transaction-pooling proxy (PgBouncer ``pool_mode = transaction``) a session-level
setting would stay on a server connection that the proxy then hands to another client. With
the option ``OPTIONS["rls_transaction_local"]`` (``DATABASE_TRANSACTION_POOLING=1``) the
statements that cannot carry their context run in a transaction of their own instead, and
those PostgreSQL refuses in a transaction block (VACUUM, CREATE DATABASE, ...) run alone,
with no context.
"""

from __future__ import annotations

import re
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
                return self._execute_prefixed(wanted, execute, sql, params, context)
            if self.rls_transaction_local:
                return self._execute_in_own_transaction(wanted, execute, sql, params, many, context)
            # What is left (DDL, VACUUM, CREATE DATABASE, ...) may refuse to run in the
            # implicit transaction of a shared message: the context goes alone, for the
            # session, and _close clears it before the pool takes the connection back.
            if wanted != self.rls_applied:
                self._set_context_alone(wanted, local=False)
            return execute(sql, params, many, context)
        if wanted == self.rls_applied:
            return execute(sql, params, many, context)
        if not can_prefix:
            self._set_context_alone(wanted, local=True)
            return execute(sql, params, many, context)
        try:
            result = self._execute_prefixed(wanted, execute, sql, params, context)
        except BaseException:
            self.rls_applied = None
            raise
        self.rls_applied = wanted
        return result

    def _execute_prefixed(
        self, wanted: rls.DbContext, execute: Any, sql: str, params: Any, context: Any
    ) -> Any:
        """One round trip: the transaction-local context, then the query (client-side binding
        allows several statements); the cursor then moves on to the query's own result. A
        failure aborts the transaction, as the query alone would."""
        prefix = _set_context_literal_sql(wanted, local=True)
        if params is not None:
            prefix = prefix.replace("%", "%%")
        result = execute(f"{prefix}; {sql}", params, False, context)
        context["cursor"].cursor.nextset()
        return result

    def _set_context_alone(self, wanted: rls.DbContext, local: bool) -> None:
        with self.wrap_database_errors, psycopg.ClientCursor(self.connection) as cursor:
            cursor.execute(_set_context_literal_sql(wanted, local))
        self.rls_applied = wanted
        if not local:
            self.rls_session = wanted

    def _execute_in_own_transaction(
        self, wanted: rls.DbContext, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        """BEGIN and the context in one round trip, the query, then COMMIT (or ROLLBACK).

        A statement that PostgreSQL refuses inside a transaction block (VACUUM, CREATE
        DATABASE, CREATE INDEX CONCURRENTLY, ...; it checks that before doing anything) then
        runs alone, with no context: none of them reads rows through the policies.
        """
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(BEGIN_WITH_CONTEXT_SQL, [wanted.user_id, True, wanted.role, True])
            try:
                result = execute(sql, params, many, context)
            except BaseException as error:
                if self.connection.info.transaction_status != pq.TransactionStatus.IDLE:
                    cursor.execute("ROLLBACK")
                sqlstate = getattr(error.__cause__, "sqlstate", None)
                if sqlstate == psycopg.errors.ActiveSqlTransaction.sqlstate:
                    return execute(sql, params, many, context)
                raise
            cursor.execute("COMMIT")
        return result

    def init_connection_state(self) -> None:
        self.rls_applied = None
        # A pooled connection comes back cleared (see _close); a new one has nothing set.
        self.rls_session = rls.ANONYMOUS
        super().init_connection_state()

    # Django's transaction hooks, overridden only to keep track of the context: commit,
    # rollback and rollback to a savepoint undo transaction-local settings, so the backend
    # forgets what it set and the next query sets it again. Savepoints themselves are
    # Django's: SAVEPOINT and RELEASE go out as stock Django sends them. Deferring them to
    # ride with the next query (as this backend once did) saved 4 of 7 round trips and
    # about 0.4 ms of client CPU per post, and left a transaction aborted where stock Django
    # recovers; measured with bench/savepoints.py, see docs/performance.md.
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
            # ROLLBACK TO needs no context and must not get one: in an aborted transaction a
            # set_config in front of it would fail.
            self.rls_paused = True
            super()._savepoint_rollback(sid)  # type: ignore[misc]
        finally:
            self.rls_paused = False
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
