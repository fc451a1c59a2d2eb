"""chatsite.db behaves as Django's own PostgreSQL backend does, whatever the nesting.

Random programs of nested atomic blocks (with and without savepoints), inserts, caught
server-side errors (a duplicate key, VACUUM inside a transaction), client-side errors (values
psycopg refuses before sending anything), rollbacks by exception or ``set_rollback`` and
switches of the row-level security context run once through stock Django
(``django.db.backends.postgresql``, a second alias on the same test database) and once
through chatsite.db, in both of its modes (session-level context in autocommit, and
``rls_transaction_local`` for a transaction-pooling proxy). Every step must end the same way
(same result, same exception type) and leave the same rows. On chatsite.db, every query must
also see the context the code is acting in, whatever rollbacks came before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.utils import load_backend
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chatsite import rls

STOCK = "stock_postgresql"
TABLE = "db_equivalence_row"


@dataclass(frozen=True)
class Insert:
    key: int  # from a small range, so a duplicate key (IntegrityError) is frequent
    caught: bool


@dataclass(frozen=True)
class ClientSideError:
    kind: str  # "nul": a NUL byte in a string; "unadaptable": a value psycopg cannot adapt
    caught: bool


@dataclass(frozen=True)
class Read:
    """The rows, and the context in force for this very query."""

    caught: bool


@dataclass(frozen=True)
class Show:
    """The context through a statement that is not a SELECT (it cannot carry a prefix)."""

    caught: bool


@dataclass(frozen=True)
class Vacuum:
    """Refused inside a transaction block (a server-side error there); fine in autocommit."""

    caught: bool


@dataclass(frozen=True)
class SetCurrent:
    """A context set with no block to end it, as JWT authentication sets it in a view."""

    user_id: int
    caught: bool


@dataclass(frozen=True)
class SetRollback:
    caught: bool


@dataclass(frozen=True)
class Block:
    savepoint: bool
    body: tuple[Any, ...]
    fails: bool  # raises Abandon at its end
    caught: bool


@dataclass(frozen=True)
class ActingAs:
    user_id: int
    body: tuple[Any, ...]
    caught: bool


class Abandon(Exception):
    """Raised at the end of a block to roll it back."""


def _leaf(caught: st.SearchStrategy[bool]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Insert, key=st.integers(1, 4), caught=caught),
        st.builds(Insert, key=st.integers(1, 4), caught=caught),
        st.builds(ClientSideError, kind=st.sampled_from(["nul", "unadaptable"]), caught=caught),
        st.builds(Read, caught=caught),
        st.builds(Show, caught=caught),
        st.builds(Vacuum, caught=caught),
        st.builds(SetRollback, caught=caught),
        st.builds(SetCurrent, user_id=st.integers(1, 3), caught=caught),
    )


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    body = st.lists(children, max_size=4).map(tuple)
    return st.one_of(
        st.builds(
            Block, savepoint=st.booleans(), body=body, fails=st.booleans(), caught=st.booleans()
        ),
        st.builds(ActingAs, user_id=st.integers(1, 3), body=body, caught=st.booleans()),
    )


programs = st.lists(
    st.recursive(_leaf(st.booleans()), _nested, max_leaves=12), min_size=1, max_size=5
).map(tuple)


class Run:
    """Runs a program on one database alias and records how each step ended."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.connection = connections[alias]
        self.steps: list[tuple[str, Any]] = []
        # (the context the code acts in, the one the query saw): chatsite.db only.
        self.contexts: list[tuple[str, str | None]] = []
        self.final_rows: list[int] = []

    def program(self, ops: tuple[Any, ...]) -> None:
        for op in ops:
            try:
                self.step(op)
            except Exception:  # noqa: S112 - recorded in self.steps; the program goes on
                continue

    def step(self, op: Any) -> None:
        try:
            result = self.do(op)
        except Exception as error:
            self.steps.append((type(op).__name__, type(error).__name__))
            if not op.caught:
                raise
        else:
            self.steps.append((type(op).__name__, result))

    def body(self, ops: tuple[Any, ...]) -> None:
        for op in ops:
            self.step(op)

    def do(self, op: Any) -> Any:
        if isinstance(op, Block):
            with transaction.atomic(using=self.alias, savepoint=op.savepoint):
                self.body(op.body)
                if op.fails:
                    raise Abandon
            return None
        if isinstance(op, ActingAs):
            with rls.acting_as(rls.DbContext(user_id=str(op.user_id), role="authenticated")):
                self.body(op.body)
            return None
        if isinstance(op, SetCurrent):
            rls.set_current(rls.DbContext(user_id=str(op.user_id), role="authenticated"))
            return None
        if isinstance(op, SetRollback):
            transaction.set_rollback(True, using=self.alias)
            return None
        with self.connection.cursor() as cursor:
            if isinstance(op, Insert):
                cursor.execute(f"INSERT INTO {TABLE} (key) VALUES (%s)", [op.key])  # noqa: S608
                return None
            if isinstance(op, ClientSideError):
                value: Any = "a\x00b" if op.kind == "nul" else object()
                cursor.execute(f"INSERT INTO {TABLE} (key, note) VALUES (9, %s)", [value])  # noqa: S608
                return None
            if isinstance(op, Vacuum):
                cursor.execute(f"VACUUM {TABLE}")
                return None
            if isinstance(op, Show):
                cursor.execute("SHOW app.user_id")
                self.contexts.append((rls.current().user_id, cursor.fetchone()[0]))
                return None
            assert isinstance(op, Read)
            cursor.execute(
                f"SELECT array(SELECT key FROM {TABLE} ORDER BY key),"  # noqa: S608
                " current_setting('app.user_id', true)"
            )
            keys, user_id = cursor.fetchone()
            self.contexts.append((rls.current().user_id, user_id))
            return tuple(keys)

    def rows(self) -> list[int]:
        assert self.connection.get_autocommit()
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT key FROM {TABLE} ORDER BY key")  # noqa: S608
            return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def stock(transactional_db: None) -> Iterator[str]:
    """A second alias on the test database, through Django's own PostgreSQL backend, and the
    scratch table (no row-level security: the rows must not depend on the context)."""
    settings_dict = {
        **connections["default"].settings_dict,
        "ENGINE": "django.db.backends.postgresql",
        # SHOW needs the parameters to exist; no pool, no chatsite option.
        "OPTIONS": {"options": "-c app.user_id= -c app.role="},
    }
    # Set up by hand, not in settings: Django's test case allows only its own aliases.
    connections[STOCK] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, STOCK)
    with connections[STOCK].cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (key integer PRIMARY KEY, note text)")
    try:
        yield STOCK
    finally:
        with connections[STOCK].cursor() as cursor:
            cursor.execute(f"DROP TABLE {TABLE}")
        connections[STOCK].close()
        del connections[STOCK]


def _run(alias: str, ops: tuple[Any, ...], *, transaction_local: bool = False) -> Run:
    with connections[STOCK].cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
    connection = connections[alias]
    connection.close()
    previous = getattr(connection, "rls_transaction_local", False)
    connection.rls_transaction_local = transaction_local  # type: ignore[attr-defined]
    try:
        run = Run(alias)
        with rls.acting_as(rls.SERVICE):  # also ends what SetCurrent set
            run.program(ops)
            run.final_rows = run.rows()
    finally:
        connection.rls_transaction_local = previous  # type: ignore[attr-defined]
    return run


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=programs)
# A client-side error in a block with a savepoint, inside one without.
@example(
    ops=(
        Block(
            savepoint=False,
            body=(
                Block(
                    savepoint=True,
                    body=(ClientSideError(kind="nul", caught=True),),
                    fails=False,
                    caught=False,
                ),
                Insert(key=1, caught=False),
            ),
            fails=False,
            caught=False,
        ),
    )
)
# VACUUM in autocommit (under transaction pooling too).
@example(ops=(Vacuum(caught=False),))
# A context set inside a savepoint that is rolled back, and still wanted after it.
@example(
    ops=(
        Block(
            savepoint=True,
            body=(
                Read(caught=False),
                Block(
                    savepoint=True,
                    body=(SetCurrent(user_id=1, caught=False), Read(caught=False)),
                    fails=True,
                    caught=True,
                ),
                Read(caught=False),
            ),
            fails=False,
            caught=False,
        ),
    )
)
def test_chatsite_backend_ends_every_step_as_stock_django_does(
    stock: str, ops: tuple[Any, ...]
) -> None:
    expected = _run(stock, ops)
    for transaction_local in (False, True):
        actual = _run("default", ops, transaction_local=transaction_local)
        assert actual.steps == expected.steps
        assert actual.final_rows == expected.final_rows
        assert all(wanted == seen for wanted, seen in actual.contexts), actual.contexts
