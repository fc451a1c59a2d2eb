"""PostgreSQL row-level security (docs/operations.md), checked with raw SQL and through the ORM.

The suite connects as the role that owns the tables; it is neither superuser nor BYPASSRLS,
and FORCE ROW LEVEL SECURITY makes the policies apply to it. The runtime role without
ownership (``chatsite_app``) is checked at the end.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction

from chat.models import Channel, Membership, Message
from chatsite import rls
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

CHAT_TABLES = ("chat_channel", "chat_membership", "chat_message")
RLS_ERROR = "row-level security"


def _scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _rowcount(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _take_seq(channel_id: Any) -> int:
    """The channel's next seq, as chat.services.base.next_seq takes it."""
    return int(
        _scalar(
            "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
            [channel_id],
        )
    )


def _count(table: str, where: str = "TRUE", params: Any = None) -> int:
    return int(_scalar(f"SELECT count(*) FROM {table} WHERE {where}", params))  # noqa: S608


@pytest.fixture
def rows(alice: Any, bob: Any, channel: Any, private_channel: Any, post: Any) -> dict[str, Any]:
    """alice posts in the public channel and in her private one; bob posts publicly."""
    return {
        "public": post(alice, channel, "public hello"),
        "private": post(alice, private_channel, "private hello"),
        "bob": post(bob, channel, "bob here"),
    }


@pytest.mark.django_db
def test_connecting_role_is_neither_superuser_nor_bypassrls() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind = 'r' ORDER BY relname",
            [list(CHAT_TABLES)],
        )
        assert cursor.fetchall() == [(table, True, True) for table in CHAT_TABLES]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "context",
    [
        rls.ANONYMOUS,
        rls.DbContext(role=rls.ROLE_AUTHENTICATED),  # a role but no user: still nobody
        rls.DbContext(role=rls.ROLE_MODERATOR),
        rls.DbContext(user_id="1", role=""),  # a user but no role
        rls.DbContext(user_id="1", role="superuser"),  # an unknown role
    ],
)
def test_without_a_context_every_table_reads_empty(rows: Any, context: rls.DbContext) -> None:
    with rls.acting_as_service():
        assert all(_count(table) > 0 for table in CHAT_TABLES)
    with rls.acting_as(context):
        assert [_count(table) for table in CHAT_TABLES] == [0, 0, 0]
        assert Channel.objects.count() == Membership.objects.count() == Message.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_cannot_write_anything(rows: Any, alice: Any, channel: Any) -> None:
    with rls.acting_as(rls.ANONYMOUS):
        assert _rowcount("UPDATE chat_message SET content = 'x'") == 0
        assert _rowcount("DELETE FROM chat_membership") == 0
        assert _rowcount("UPDATE chat_channel SET last_seq = last_seq + 1") == 0
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(
                "INSERT INTO chat_channel (id, name, title, topic, is_private, created_at,"
                " last_seq) VALUES (%s, 'anon', '', '', false, now(), 0)",
                [uuid.uuid4()],
            )
    with rls.acting_as_service():
        assert Message.objects.filter(content="x").count() == 0


@pytest.mark.django_db
def test_outsider_sees_no_row_of_a_private_channel(
    rows: Any, alice: Any, bob: Any, private_channel: Any
) -> None:
    where, params = "channel_id = %s", [private_channel.pk]
    with rls.acting_as_user(bob):
        assert _count("chat_channel", "id = %s", params) == 0
        assert _count("chat_membership", where, params) == 0
        assert _count("chat_message", where, params) == 0
        assert _count("chat_message", "id = %s", [rows["private"].pk]) == 0
    with rls.acting_as_user(alice):
        assert _count("chat_channel", "id = %s", params) == 1
        assert _count("chat_membership", where, params) == 1
        assert _count("chat_message", where, params) == 1


@pytest.mark.django_db
def test_deliberately_unfiltered_queries_return_only_what_the_user_may_see(
    rows: Any, bob: Any, channel: Any, private_channel: Any
) -> None:
    with rls.acting_as_user(bob):
        assert set(Channel.objects.all()) == {channel}
        assert set(Message.objects.all()) == {rows["public"], rows["bob"]}
        assert not Membership.objects.filter(channel=private_channel).exists()
        assert Message.objects.filter(pk=rows["private"].pk).first() is None
    with rls.acting_as_service():
        assert Channel.objects.count() == 2
        assert Message.objects.count() == 3


@pytest.mark.django_db
def test_insert_as_another_user_is_refused(rows: Any, alice: Any, bob: Any, channel: Any) -> None:
    insert = (
        "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
        " change_seq) VALUES (%s, %s, %s, 'forged', now(), 100, 100)"
    )
    with rls.acting_as_user(bob):
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(insert, [uuid.uuid4(), channel.pk, alice.pk])
        # As himself, with the channel's next seq, it works: bob is a member (he posted).
        with transaction.atomic():
            seq = _scalar(
                "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
                [channel.pk],
            )
            with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
                _rowcount(insert, [uuid.uuid4(), channel.pk, bob.pk])  # seq 100: not the next
            assert (
                _rowcount(
                    insert.replace("100, 100", "%s, %s"),
                    [uuid.uuid4(), channel.pk, bob.pk, seq, seq],
                )
                == 1
            )
            transaction.set_rollback(True)
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(
                "INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id,"
                " created_at, last_seq) VALUES (%s, 'forged', '', '', false, %s, now(), 0)",
                [uuid.uuid4(), alice.pk],
            )
    with rls.acting_as_service():
        assert not Message.objects.filter(content="forged").exists()


@pytest.mark.django_db
def test_outsider_cannot_post_in_or_join_a_private_channel(
    rows: Any, bob: Any, private_channel: Any
) -> None:
    with rls.acting_as_user(bob):
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount(
                "INSERT INTO chat_message (id, channel_id, user_id, content, created_at, seq,"
                " change_seq) VALUES (%s, %s, %s, 'sneaky', now(), 100, 100)",
                [uuid.uuid4(), private_channel.pk, bob.pk],
            )
        for role in ("member", "owner"):
            with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
                _rowcount(
                    "INSERT INTO chat_membership (channel_id, user_id, role, joined_at,"
                    " last_read_seq) VALUES (%s, %s, %s, now(), 0)",
                    [private_channel.pk, bob.pk, role],
                )
        assert (
            _rowcount(
                "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s",
                [private_channel.pk],
            )
            == 0
        )


@pytest.mark.django_db
def test_update_or_delete_of_another_users_message_changes_no_row(rows: Any, bob: Any) -> None:
    target = rows["public"].pk
    with rls.acting_as_user(bob):
        assert _rowcount("UPDATE chat_message SET content = 'pwned' WHERE id = %s", [target]) == 0
        assert _rowcount("DELETE FROM chat_message WHERE id = %s", [target]) == 0
        own = "UPDATE chat_message SET content = 'mine', change_seq = %s WHERE id = %s"
        assert _rowcount(own, [_take_seq(rows["bob"].channel_id), rows["bob"].pk]) == 1
    with rls.acting_as_service():
        assert Message.objects.get(pk=target).content == "public hello"
        assert Message.objects.count() == 3


@pytest.mark.django_db
def test_moderator_tombstones_anyones_message_but_does_not_rewrite_it(
    rows: Any, moderator: Any
) -> None:
    target = rows["private"].pk  # in a private channel the moderator does not belong to
    with rls.acting_as_user(moderator):
        assert _count("chat_message") == 3
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_message SET content = 'words' WHERE id = %s", [target])
        tombstone = (
            "UPDATE chat_message SET content = '', deleted_at = now(), change_seq = %s"
            " WHERE id = %s"
        )
        assert _rowcount(tombstone, [_take_seq(rows["private"].channel_id), target]) == 1
    with rls.acting_as_service():
        assert Message.objects.get(pk=target).is_deleted


@pytest.mark.django_db
def test_service_sees_and_changes_everything(rows: Any) -> None:
    with rls.acting_as_service():
        assert [_count(table) for table in CHAT_TABLES] == [2, 3, 3]
        assert _rowcount("UPDATE chat_channel SET topic = 'all'") == 2


@pytest.mark.django_db
def test_members_only_take_the_next_seq_of_a_channel_for_a_change(
    rows: Any, bob: Any, channel: Any
) -> None:
    """Members change nothing of a channel but take its next seq, and only for a change of a
    message: a bare bump (a gap in the seq) fails at commit."""
    where = [channel.pk]
    bump = "UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"
    with rls.acting_as_user(bob):
        for change in ("is_private = true", "name = 'renamed'", "last_seq = last_seq + 5"):
            with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
                _rowcount(f"UPDATE chat_channel SET {change} WHERE id = %s", where)  # noqa: S608
        assert _rowcount("DELETE FROM chat_channel WHERE id = %s", where) == 0
        seq = _scalar(bump, where)  # with a change, as message_edit does it
        updated = _rowcount(
            "UPDATE chat_message SET content = 'edited', edited_at = now(), change_seq = %s"
            " WHERE id = %s",
            [seq, rows["bob"].pk],
        )
        assert (seq, updated) == (3, 1)
        # The check is deferred to the commit, which the test's transaction never reaches:
        # run it now (it passes for the bump above), then at once after each statement.
        _rowcount("SET CONSTRAINTS chat_rls_seq_used IMMEDIATE")
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _scalar(bump, where)
        # An edit without the next seq would go unheard by clients: refused too.
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_message SET content = 'quiet' WHERE id = %s", [rows["bob"].pk])


@pytest.mark.django_db(transaction=True)
def test_a_bare_seq_bump_by_a_member_fails_at_commit() -> None:
    alice, _, private = _committed_rows()
    with rls.acting_as_user(alice), pytest.raises(ProgrammingError, match=RLS_ERROR):
        _rowcount("UPDATE chat_channel SET last_seq = last_seq + 1 WHERE id = %s", [private.pk])
    with rls.acting_as_service():
        private.refresh_from_db()
        assert private.last_seq == 1
        assert _rowcount("UPDATE chat_channel SET last_seq = last_seq + 1") == 1  # the service may


@pytest.mark.django_db
def test_members_cannot_promote_themselves_or_move_a_message(
    rows: Any, bob: Any, channel: Any, private_channel: Any
) -> None:
    with rls.acting_as_user(bob):
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_membership SET role = 'owner' WHERE user_id = %s", [bob.pk])
        assert (
            _rowcount("UPDATE chat_membership SET last_read_seq = 2 WHERE user_id = %s", [bob.pk])
            == 1
        )
        with pytest.raises(ProgrammingError, match=RLS_ERROR), transaction.atomic():
            _rowcount("UPDATE chat_message SET seq = 99 WHERE id = %s", [rows["bob"].pk])
        change = "UPDATE chat_message SET {} change_seq = %s WHERE id = %s"
        tombstone = change.format("content = '', deleted_at = now(),")
        assert _rowcount(tombstone, [_take_seq(channel.pk), rows["bob"].pk]) == 1
        with pytest.raises(ProgrammingError, match="only moderators restore"), transaction.atomic():
            restore = change.format("content = 'back', deleted_at = NULL,")
            _rowcount(restore, [_take_seq(channel.pk), rows["bob"].pk])


@pytest.mark.django_db
def test_policies_read_the_settings_once_per_statement(rows: Any, bob: Any, channel: Any) -> None:
    """The settings sit in sub-selects: InitPlans, not a function call per row."""
    with rls.acting_as_user(bob):
        plan = "\n".join(
            row[0]
            for row in _explain(
                "SELECT * FROM chat_message WHERE channel_id = %s ORDER BY seq DESC LIMIT 50",
                [channel.pk],
            )
        )
    assert "InitPlan" in plan
    assert "current_setting" not in plan.split("InitPlan")[0]


def _explain(sql: str, params: Any) -> list[tuple[str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE) {sql}", params)
        return cursor.fetchall()


# --- The connection's context follows the code's context --------------------------------


@pytest.mark.django_db
def test_a_rolled_back_savepoint_does_not_leave_the_context_wrong(
    rows: Any, alice: Any, bob: Any, private_channel: Any
) -> None:
    private = [private_channel.pk]
    with transaction.atomic(), rls.acting_as_user(bob):
        assert _count("chat_message", "channel_id = %s", private) == 0
        with pytest.raises(RuntimeError), transaction.atomic():
            # As JWT authentication does it in a view: no block ends this context.
            rls.set_current(rls.context_for(alice))
            assert _count("chat_message", "channel_id = %s", private) == 1  # after the savepoint
            raise RuntimeError("roll the savepoint back")
        # The rollback brought bob's setting back on the connection: alice, whose context did
        # not change meanwhile, must be set again, or she would see what bob sees.
        assert _count("chat_message", "channel_id = %s", private) == 1
        rls.set_current(rls.context_for(bob))
        assert _count("chat_message", "channel_id = %s", private) == 0


@pytest.mark.django_db
def test_a_failed_query_under_another_context_leaves_the_transaction_usable(
    rows: Any, bob: Any, channel: Any
) -> None:
    """The savepoint's rollback runs after the context changed back: it must not try to set
    the context in the aborted transaction (that would break the outer transaction)."""
    duplicate = (
        "INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)"
        " VALUES (%s, %s, 'member', now(), 0)"
    )
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(), rls.acting_as_user(bob):
            _rowcount(duplicate, [channel.pk, bob.pk])  # bob is a member already
        assert _count("chat_message") == 3  # as the service, in the same transaction
        with rls.acting_as_user(bob):
            assert _count("chat_message") == 2


def _committed_rows() -> tuple[Any, Any, Any]:
    """alice, bob, and alice's private channel with one message (for transaction=True)."""
    alice = UserFactory.create(username="alice")
    bob = UserFactory.create(username="bob")
    private = ChannelFactory.create(name="secret", is_private=True, created_by=alice, last_seq=1)
    MembershipFactory.create(channel=private, user=alice, role="owner")
    Message.objects.create(channel=private, user=alice, content="secret", seq=1, change_seq=1)
    return alice, bob, private


@pytest.mark.django_db(transaction=True)
def test_commit_and_rollback_do_not_leave_the_context_wrong() -> None:
    alice, bob, private = _committed_rows()
    where, params = "channel_id = %s", [private.pk]
    assert connection.get_autocommit()
    with rls.acting_as_user(bob):
        assert _count("chat_message", where, params) == 0  # session-level: bob
    for ending in ("commit", "rollback"):
        with rls.acting_as_user(alice):
            try:
                with transaction.atomic():
                    assert _count("chat_message", where, params) == 1  # local: alice
                    if ending == "rollback":
                        raise RuntimeError
            except RuntimeError:
                pass
            # The transaction's end restored the session's setting (bob): alice must be set
            # again, or she would see what bob sees.
            assert _count("chat_message", where, params) == 1
        with rls.acting_as_user(bob):
            assert _count("chat_message", where, params) == 0


def _session_setting(raw: psycopg.Connection[Any]) -> tuple[str | None, str | None]:
    """The context on a physical connection outside any transaction, read past Django."""
    assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    row = raw.execute(
        "SELECT current_setting('app.user_id', true), current_setting('app.role', true)"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_never_carries_a_users_context_to_the_next_use() -> None:
    alice, _, private = _committed_rows()
    pool = getattr(connection, "pool", None)
    assert pool is not None, "the PostgreSQL settings use psycopg's pool"
    assert connection.get_autocommit()
    with rls.acting_as_user(alice), connection.cursor() as cursor:
        # Not a SELECT: in autocommit its context goes alone, and lasts for the session.
        cursor.execute("SHOW app.user_id")
        assert cursor.fetchone() == (str(alice.pk),)
    raw = connection.connection
    assert _session_setting(raw) == (str(alice.pk), rls.ROLE_AUTHENTICATED)  # left on it
    backend_pid = raw.info.backend_pid
    connection.close()  # back to the pool

    # Whatever borrows that physical connection next finds no trace of alice on it.
    borrowed = []
    try:
        for _ in range(pool.max_size):
            raw = pool.getconn()
            borrowed.append(raw)
            if raw.info.backend_pid == backend_pid:
                assert _session_setting(raw) == ("", "")
                break
        else:  # pragma: no cover - the pool always has the connection
            pytest.fail("the connection did not come back to the pool")
    finally:
        for raw in borrowed:
            pool.putconn(raw)

    assert rls.current() == rls.SERVICE  # the suite's default; now act as nobody
    with rls.acting_as(rls.ANONYMOUS):
        assert Message.objects.count() == 0
        assert Channel.objects.count() == 0
    with rls.acting_as_user(alice):
        assert Message.objects.filter(channel=private).count() == 1


# --- The runtime role --------------------------------------------------------------------


def _runtime_connection() -> psycopg.Connection[Any]:
    params = connection.settings_dict
    role = settings.DATABASE_APP_ROLE
    try:
        return psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=role,
            password=params.get("PASSWORD") if role == params["USER"] else None,
            autocommit=True,
        )
    except psycopg.OperationalError as error:  # pragma: no cover - set-up problem
        pytest.fail(
            f"runtime role {role!r} cannot connect ({error}); run scripts/ensure-services.sh"
        )


@pytest.mark.django_db(transaction=True)
def test_runtime_role_has_data_access_only_and_is_subject_to_the_policies() -> None:
    alice, bob, _ = _committed_rows()
    with _runtime_connection() as raw:
        assert raw.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False, False, False)
        assert raw.execute("SELECT count(*) FROM chat_message").fetchone() == (0,)
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(bob.pk)])
        raw.execute("SELECT set_config('app.role', 'authenticated', false)")
        assert raw.execute("SELECT count(*) FROM chat_channel").fetchone() == (0,)
        raw.execute("SELECT set_config('app.user_id', %s, false)", [str(alice.pk)])
        assert raw.execute("SELECT count(*) FROM chat_message").fetchone() == (1,)
        assert raw.execute("SELECT count(*) FROM accounts_user").fetchone() == (2,)
        # It cannot switch the policies off, drop them or empty a table behind them.
        for ddl in (
            "ALTER TABLE chat_message DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE chat_message NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY chat_message_select ON chat_message",
            "TRUNCATE chat_message",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(ddl)


@pytest.mark.django_db(transaction=True)
def test_with_transaction_pooling_no_statement_leaves_a_context_on_the_session() -> None:
    """DATABASE_TRANSACTION_POOLING: outside transactions each statement runs in a transaction
    of its own with a transaction-local context, so a proxy's next client finds nothing on
    the server side; a statement that PostgreSQL refuses in a transaction block still runs."""
    alice, bob, private = _committed_rows()
    assert connection.get_autocommit()
    connection.ensure_connection()
    raw = connection.connection
    connection.rls_transaction_local = True  # type: ignore[attr-defined]
    scratch_database = f"{connection.settings_dict['NAME']}_pooling"
    try:
        with rls.acting_as_user(alice):
            assert Message.objects.filter(channel=private).count() == 1
            assert _session_setting(raw) in {("", ""), (None, None)}
            with pytest.raises(ProgrammingError, match=RLS_ERROR):
                _rowcount(
                    "INSERT INTO chat_message (id, channel_id, user_id, content, created_at,"
                    " seq, change_seq) VALUES (%s, %s, %s, 'forged', now(), 9, 9)",
                    [uuid.uuid4(), private.pk, bob.pk],
                )
            assert _session_setting(raw) in {("", ""), (None, None)}
            # Not a SELECT: it cannot carry the context in front, so it gets a transaction.
            assert _scalar("SHOW app.user_id") == str(alice.pk)
            assert _session_setting(raw) in {("", ""), (None, None)}
            # These fail inside a transaction block ("cannot run inside a transaction
            # block"): PostgreSQL itself tells that they went out alone.
            for statement in (
                "VACUUM chat_channel",
                f'CREATE DATABASE "{scratch_database}"',
                f'DROP DATABASE "{scratch_database}"',
            ):
                with connection.cursor() as cursor:
                    cursor.execute(statement)
                assert _session_setting(raw) in {("", ""), (None, None)}
        with rls.acting_as_user(bob):
            assert Message.objects.filter(channel=private).count() == 0
        with rls.acting_as_user(alice), transaction.atomic():
            assert (
                Message.objects.filter(channel=private).count() == 1
            )  # as before in a transaction
    finally:
        connection.rls_transaction_local = False  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch_database}"')
