"""Row-level security on chat_channel, chat_membership and chat_message (docs/operations.md,
"Roles and row-level security").

PostgreSQL only: on SQLite (the embedded default) every operation here is a no-op and the
application's own checks are the only ones.

Who is asking comes from two settings that ``chatsite.db`` sets before each query:
``app.user_id`` (the user's id as text) and ``app.role`` (``authenticated``, ``moderator`` or
``service``). Unset or empty means anonymous, and no policy lets anonymous see or change a
row. Each policy reads the settings in a sub-select, so PostgreSQL evaluates them once per
statement (an InitPlan), not once per row.

| who | chat_channel | chat_membership | chat_message |
|---|---|---|---|
| anonymous | nothing | nothing | nothing |
| authenticated | read public + own private; create as creator; take the next seq (trigger) | read own + of visible channels; join public; claim owner of own new channel; owners add, remove, promote; own last_read_seq | read in visible channels; insert as self where a member of a live channel; update and delete own |
| moderator | all | all | read all; tombstone and restore any; delete any |
| service | all | all | all |

Policies on one table that must look at chat_membership call SECURITY DEFINER functions.
The table owner is subject to the policies too (FORCE), so these functions set ``app.role``
to ``service`` for their own query and put the caller's role back (a function's ``SET``
clause would need a superuser for a custom setting); they return only the caller's own
memberships, read from ``app.user_id``, so they reveal nothing else.

Triggers keep members to the columns their actions change: a member may only take a channel's
next seq (``last_seq = last_seq + 1``), and only for a change of a message in the same
transaction (a deferred check at commit), move their own read marker, and (as a channel owner)
change a member's role; a message's change must take the channel's next seq; authors may not
move, re-attribute or undelete a message, and moderators may not rewrite the content of other
people's messages except by tombstoning or restoring them.

When a runtime role exists (``settings.DATABASE_APP_ROLE``, default ``chatsite_app``: no
ownership, no BYPASSRLS), it is granted data access (no DDL) to every table, now and later.
docs/operations.md describes the roles.
"""

# The SQL below is assembled from constants of this module only, never from input.
# ruff: noqa: S608

from django.conf import settings
from django.db import migrations

USER_ID_SETTING = "nullif(current_setting('app.user_id', true), '')::{user_id_type}"
USER_ID = f"(SELECT {USER_ID_SETTING})"
ROLE = "(SELECT nullif(current_setting('app.role', true), ''))"

IS_SERVICE = f"{ROLE} = 'service'"
IS_MODERATOR = f"({ROLE} = 'moderator' AND {USER_ID} IS NOT NULL)"
# Moderators have every member's rights as well (they post as themselves).
IS_USER = f"({ROLE} IN ('authenticated', 'moderator') AND {USER_ID} IS NOT NULL)"
PRIVILEGED = f"({IS_SERVICE} OR {IS_MODERATOR})"

MY_CHANNELS = "(SELECT chat_rls_member_channel_ids())::uuid[]"
MY_OWNED_CHANNELS = "(SELECT chat_rls_owned_channel_ids())::uuid[]"


def public_channel(column):
    return f"EXISTS (SELECT 1 FROM chat_channel c WHERE c.id = {column} AND NOT c.is_private)"


def visible_channel(column):
    return f"({column} = ANY ({MY_CHANNELS}) OR {public_channel(column)})"


# Body of a SECURITY DEFINER function that reads chat_membership as the service: it switches
# app.role for its own query only and puts the caller's role back before returning (an error
# aborts the statement, and with it the transaction-local setting).
AS_SERVICE = """
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, {{schema}}, pg_temp
    AS $$
    DECLARE
        caller_role text := coalesce(current_setting('app.role', true), '');
        me {{user_id_type}} := {user_id};
        result {result_type};
    BEGIN
        PERFORM set_config('app.role', 'service', true);
        {body}
        PERFORM set_config('app.role', caller_role, true);
        RETURN result;
    END
    $$
"""

FUNCTIONS = [
    # The channels the current user belongs to (owns), as one array per statement.
    "CREATE FUNCTION chat_rls_member_channel_ids() RETURNS uuid[]"
    + AS_SERVICE.format(
        user_id=USER_ID_SETTING,
        result_type="uuid[]",
        body="SELECT coalesce(array_agg(m.channel_id), '{{}}') INTO result "
        "FROM chat_membership m WHERE m.user_id = me;",
    ),
    "CREATE FUNCTION chat_rls_owned_channel_ids() RETURNS uuid[]"
    + AS_SERVICE.format(
        user_id=USER_ID_SETTING,
        result_type="uuid[]",
        body="SELECT coalesce(array_agg(m.channel_id), '{{}}') INTO result "
        "FROM chat_membership m WHERE m.user_id = me AND m.role = 'owner';",
    ),
    # channel_create: the creator of a channel that has no member yet may become its owner.
    "CREATE FUNCTION chat_rls_may_claim_channel(channel uuid) RETURNS boolean"
    + AS_SERVICE.format(
        user_id=USER_ID_SETTING,
        result_type="boolean",
        body="result := EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel AND c.created_by_id = me) "
        "AND NOT EXISTS (SELECT 1 FROM chat_membership m WHERE m.channel_id = channel);",
    ),
    """
    CREATE FUNCTION chat_rls_guard_channel() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    BEGIN
        IF coalesce(current_setting('app.role', true), '') IN ('service', 'moderator') THEN
            RETURN NEW;
        END IF;
        IF (to_jsonb(NEW) - 'last_seq') IS DISTINCT FROM (to_jsonb(OLD) - 'last_seq')
                OR NEW.last_seq IS DISTINCT FROM OLD.last_seq + 1 THEN
            RAISE EXCEPTION 'row-level security: members may only take a channel''s next seq'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION chat_rls_guard_membership() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    DECLARE
        me text := nullif(current_setting('app.user_id', true), '');
    BEGIN
        IF coalesce(current_setting('app.role', true), '') IN ('service', 'moderator') THEN
            RETURN NEW;
        END IF;
        IF (to_jsonb(NEW) - 'last_read_seq' - 'role')
                IS DISTINCT FROM (to_jsonb(OLD) - 'last_read_seq' - 'role')
            OR (NEW.last_read_seq IS DISTINCT FROM OLD.last_read_seq
                AND OLD.user_id::text IS DISTINCT FROM me)
            OR (NEW.role IS DISTINCT FROM OLD.role
                AND NOT OLD.channel_id = ANY (chat_rls_owned_channel_ids())) THEN
            RAISE EXCEPTION 'row-level security: members may only move their own read marker'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION chat_rls_guard_message() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    DECLARE
        role text := coalesce(current_setting('app.role', true), '');
        me text := nullif(current_setting('app.user_id', true), '');
    BEGIN
        IF role = 'service' THEN
            RETURN NEW;
        END IF;
        IF (NEW.id, NEW.channel_id, NEW.user_id, NEW.seq, NEW.created_at, NEW.client_id)
                IS DISTINCT FROM
                (OLD.id, OLD.channel_id, OLD.user_id, OLD.seq, OLD.created_at, OLD.client_id) THEN
            RAISE EXCEPTION 'row-level security: a message stays where and whose it is'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        -- A change takes the channel's next seq, so that clients hear of it (docs/architecture.md).
        IF (NEW.content, NEW.edited_at, NEW.deleted_at)
                IS DISTINCT FROM (OLD.content, OLD.edited_at, OLD.deleted_at)
                AND NEW.change_seq IS NOT DISTINCT FROM OLD.change_seq
            OR NEW.change_seq IS DISTINCT FROM OLD.change_seq AND NEW.change_seq IS DISTINCT FROM
                (SELECT c.last_seq FROM chat_channel c WHERE c.id = NEW.channel_id) THEN
            RAISE EXCEPTION 'row-level security: a change takes the channel''s next seq'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF role = 'moderator' THEN
            -- Someone else's message: tombstone it, restore it, or leave its content alone.
            IF OLD.user_id::text IS DISTINCT FROM me AND NEW.content IS DISTINCT FROM OLD.content
                    AND NEW.deleted_at IS NULL AND OLD.deleted_at IS NULL THEN
                RAISE EXCEPTION 'row-level security: moderators tombstone, they do not edit'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
            RAISE EXCEPTION 'row-level security: only moderators restore a message'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # At commit: a seq that a member took from a channel went to a change of a message (the
    # services always write one), so raw SQL cannot open gaps in a channel's seq. The
    # trigger's WHEN clause picks members' updates when they happen; this check runs at commit,
    # under whatever context is current then, so it reads the messages as the service.
    """
    CREATE FUNCTION chat_rls_check_seq_used() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    DECLARE
        caller_role text := coalesce(current_setting('app.role', true), '');
        used boolean;
    BEGIN
        PERFORM set_config('app.role', 'service', true);
        used := EXISTS (SELECT 1 FROM chat_message m
                        WHERE m.channel_id = NEW.id AND m.change_seq >= NEW.last_seq);
        PERFORM set_config('app.role', caller_role, true);
        IF NOT used THEN
            RAISE EXCEPTION 'row-level security: a seq taken from a channel must go to a change'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END
    $$
    """,
]

TRIGGERS = [
    "CREATE TRIGGER chat_rls_guard BEFORE UPDATE ON chat_channel "
    "FOR EACH ROW EXECUTE FUNCTION chat_rls_guard_channel()",
    "CREATE TRIGGER chat_rls_guard BEFORE UPDATE ON chat_membership "
    "FOR EACH ROW EXECUTE FUNCTION chat_rls_guard_membership()",
    "CREATE TRIGGER chat_rls_guard BEFORE UPDATE ON chat_message "
    "FOR EACH ROW EXECUTE FUNCTION chat_rls_guard_message()",
    "CREATE CONSTRAINT TRIGGER chat_rls_seq_used AFTER UPDATE OF last_seq ON chat_channel "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.last_seq > OLD.last_seq "
    "AND coalesce(current_setting('app.role', true), '') NOT IN ('service', 'moderator')) "
    "EXECUTE FUNCTION chat_rls_check_seq_used()",
]

# (table, policy name, command, USING, WITH CHECK)
POLICIES = [
    # --- chat_channel
    (
        "chat_channel",
        "chat_channel_select",
        "SELECT",
        f"{PRIVILEGED} OR ({IS_USER} AND (NOT is_private OR id = ANY ({MY_CHANNELS})))",
        None,
    ),
    (
        "chat_channel",
        "chat_channel_insert",
        "INSERT",
        None,
        f"{PRIVILEGED} OR ({IS_USER} AND created_by_id = {USER_ID})",
    ),
    (
        # Members take the next seq of channels they may post in (the trigger allows only
        # that); moderators change anything (archive).
        "chat_channel",
        "chat_channel_update",
        "UPDATE",
        f"{PRIVILEGED} OR ({IS_USER} AND (NOT is_private OR id = ANY ({MY_CHANNELS})))",
        f"{PRIVILEGED} OR ({IS_USER} AND (NOT is_private OR id = ANY ({MY_CHANNELS})))",
    ),
    ("chat_channel", "chat_channel_delete", "DELETE", PRIVILEGED, None),
    # --- chat_membership
    (
        "chat_membership",
        "chat_membership_select",
        "SELECT",
        f"{PRIVILEGED} OR ({IS_USER} AND (user_id = {USER_ID} OR {visible_channel('channel_id')}))",
        None,
    ),
    (
        "chat_membership",
        "chat_membership_insert",
        "INSERT",
        None,
        f"{PRIVILEGED} OR ({IS_USER} AND ("
        # join a live public channel
        f"(user_id = {USER_ID} AND role = 'member' AND EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel_id AND NOT c.is_private AND c.archived_at IS NULL))"
        # the creator becomes the first owner of a new channel
        f" OR (user_id = {USER_ID} AND role = 'owner' AND chat_rls_may_claim_channel(channel_id))"
        # owners add members
        f" OR (role = 'member' AND channel_id = ANY ({MY_OWNED_CHANNELS}))"
        "))",
    ),
    (
        "chat_membership",
        "chat_membership_update",
        "UPDATE",
        f"{PRIVILEGED} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})))",
        f"{PRIVILEGED} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})))",
    ),
    (
        "chat_membership",
        "chat_membership_delete",
        "DELETE",
        f"{PRIVILEGED} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})))",
        None,
    ),
    # --- chat_message
    (
        "chat_message",
        "chat_message_select",
        "SELECT",
        f"{PRIVILEGED} OR ({IS_USER} AND {visible_channel('channel_id')})",
        None,
    ),
    (
        "chat_message",
        "chat_message_insert",
        "INSERT",
        None,
        f"{IS_SERVICE} OR ({IS_USER} AND user_id = {USER_ID} AND deleted_at IS NULL "
        f"AND channel_id = ANY ({MY_CHANNELS}) AND change_seq = seq "
        "AND EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel_id AND c.archived_at IS NULL AND c.last_seq = seq))",
    ),
    (
        "chat_message",
        "chat_message_update",
        "UPDATE",
        f"{PRIVILEGED} OR ({IS_USER} AND user_id = {USER_ID} AND {visible_channel('channel_id')})",
        f"{PRIVILEGED} OR ({IS_USER} AND user_id = {USER_ID})",
    ),
    (
        "chat_message",
        "chat_message_delete",
        "DELETE",
        f"{PRIVILEGED} OR ({IS_USER} AND user_id = {USER_ID})",
        None,
    ),
]

TABLES = ["chat_channel", "chat_membership", "chat_message"]
FUNCTION_NAMES = [
    "chat_rls_check_seq_used()",
    "chat_rls_guard_message()",
    "chat_rls_guard_membership()",
    "chat_rls_guard_channel()",
    "chat_rls_may_claim_channel(uuid)",
    "chat_rls_owned_channel_ids()",
    "chat_rls_member_channel_ids()",
]


def _user_id_type(apps, connection):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    return user_model._meta.pk.rel_db_type(connection)


def _quote(connection, name):
    return connection.ops.quote_name(name)


def _policy_sql(table, name, command, using, check):
    sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command}"
    if using is not None:
        sql += f" USING ({using})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    return sql


def secure_tables(apps, schema_editor, policies, tables):
    """Create ``policies`` (rows of ``_policy_sql``'s arguments) and put ``tables`` under
    forced row-level security. The later migrations that add tables of their own call it."""
    user_id_type = _user_id_type(apps, schema_editor.connection)
    for policy in policies:
        schema_editor.execute(_policy_sql(*policy).format(user_id_type=user_id_type))
    for table in tables:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def unsecure_tables(schema_editor, policies, tables):
    """The reverse of ``secure_tables``."""
    for table, name, *_ in policies:
        schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for table in tables:
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def runtime_role(schema_editor):
    """The runtime role's quoted name, or None where the role does not exist (then there is
    nothing to grant)."""
    role = getattr(settings, "DATABASE_APP_ROLE", "chatsite_app")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return None
    return _quote(schema_editor.connection, role)


def grant_tables(schema_editor, tables, sequences=()):
    """Data access for the runtime role on ``tables`` (and ``sequences``) only. A later
    migration must not repeat the grant on every table below: it would give back what
    others keep from the role, such as writes to the search index."""
    quoted = runtime_role(schema_editor)
    if quoted is None:
        return
    for table in tables:
        schema_editor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {quoted}")
    for sequence in sequences:
        schema_editor.execute(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {quoted}")


def _grant_runtime_role(schema_editor, schema):
    """Give the runtime role data access (no DDL, no TRUNCATE), also to future tables."""
    quoted = runtime_role(schema_editor)
    if quoted is None:
        return
    schema_editor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}")
    schema_editor.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}"
    )
    schema_editor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}")
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}"
    )
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}"
    )


def _current_schema(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return _quote(connection, cursor.fetchone()[0])


def enable_row_level_security(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = _current_schema(connection)
    user_id_type = _user_id_type(apps, connection)
    for function in FUNCTIONS:
        schema_editor.execute(function.format(schema=schema, user_id_type=user_id_type))
    for trigger in TRIGGERS:
        schema_editor.execute(trigger)
    for policy in POLICIES:
        schema_editor.execute(_policy_sql(*policy).format(user_id_type=user_id_type))
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    _grant_runtime_role(schema_editor, schema)


def disable_row_level_security(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS chat_rls_guard ON {table}")
    schema_editor.execute("DROP TRIGGER IF EXISTS chat_rls_seq_used ON chat_channel")
    for table, name, *_ in POLICIES:
        schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for function in FUNCTION_NAMES:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}")


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_messagerevision_auditentry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(enable_row_level_security, disable_row_level_security, elidable=False),
    ]
