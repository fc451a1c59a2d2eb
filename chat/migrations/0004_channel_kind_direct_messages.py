"""Direct messages: ``Channel.kind`` and ``dm_key``, and row-level security that keeps a direct
message to its members (docs/architecture.md, "Direct messages").

PostgreSQL only for the policies: on SQLite the application's own checks are the only ones.

Moderators keep their rights over channels but lose them over direct messages they are not
in: every policy of 0003 that let a moderator through on its own is replaced by one that lets
a moderator through for rows of a ``channel`` only. A moderator who is a member of a direct
message reads it as a member. Members of a direct message are fixed at its creation:

| who | a direct message's rows (channel, memberships, messages) |
|---|---|
| anonymous, non-members, moderators and admins not in it | nothing |
| its creator, in the transaction that creates it | insert the channel, then the memberships of the people its ``dm_key`` names |
| its members | read; post, edit and delete their own messages; move their own read marker |
| nobody but the service | add or remove members, delete it |

Whether a row belongs to a ``channel`` is read from chat_channel under the caller's own
policies: a moderator sees every channel and only the direct messages they are in, so the
test holds for exactly the rows the moderator may see.
"""

# The SQL below is assembled from constants of this module only, never from input.
# ruff: noqa: S608

from django.conf import settings
from django.db import migrations, models

USER_ID_SETTING = "nullif(current_setting('app.user_id', true), '')::{user_id_type}"
USER_ID = f"(SELECT {USER_ID_SETTING})"
ROLE = "(SELECT nullif(current_setting('app.role', true), ''))"

IS_SERVICE = f"{ROLE} = 'service'"
IS_MODERATOR = f"({ROLE} = 'moderator' AND {USER_ID} IS NOT NULL)"
IS_USER = f"({ROLE} IN ('authenticated', 'moderator') AND {USER_ID} IS NOT NULL)"

MY_CHANNELS = "(SELECT chat_rls_member_channel_ids())::uuid[]"
MY_OWNED_CHANNELS = "(SELECT chat_rls_owned_channel_ids())::uuid[]"

# A moderator's rights, on a chat_channel row and on rows that point at a channel.
MODERATES_ROW = f"({IS_MODERATOR} AND kind = 'channel')"


def is_channel(column):
    return f"EXISTS (SELECT 1 FROM chat_channel c WHERE c.id = {column} AND c.kind = 'channel')"


def moderates(column):
    return f"({IS_MODERATOR} AND {is_channel(column)})"


def public_channel(column):
    return f"EXISTS (SELECT 1 FROM chat_channel c WHERE c.id = {column} AND NOT c.is_private)"


def visible_channel(column):
    return f"({column} = ANY ({MY_CHANNELS}) OR {public_channel(column)})"


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
    # A direct message's creator adds the people its key names (the creator first).
    "CREATE FUNCTION chat_rls_may_seed_dm(channel uuid, member {user_id_type}) RETURNS boolean"
    + AS_SERVICE.format(
        user_id=USER_ID_SETTING,
        result_type="boolean",
        body="result := EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel AND c.kind = 'dm' AND c.created_by_id = me "
        "AND member::text = ANY (string_to_array(c.dm_key, ',')));",
    ),
    # channel_create: as in 0003, for channels only: nobody claims ownership of a direct message.
    "CREATE OR REPLACE FUNCTION chat_rls_may_claim_channel(channel uuid) RETURNS boolean"
    + AS_SERVICE.format(
        user_id=USER_ID_SETTING,
        result_type="boolean",
        body="result := EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel AND c.created_by_id = me AND c.kind = 'channel') "
        "AND NOT EXISTS (SELECT 1 FROM chat_membership m WHERE m.channel_id = channel);",
    ),
    # As in 0003 (members only take a channel's next seq), and owners of a channel change its
    # title and topic (channel_update) in an update of their own.
    """
    CREATE OR REPLACE FUNCTION chat_rls_guard_channel() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    BEGIN
        IF coalesce(current_setting('app.role', true), '') IN ('service', 'moderator') THEN
            RETURN NEW;
        END IF;
        IF (to_jsonb(NEW) - 'last_seq' - 'title' - 'topic')
                IS DISTINCT FROM (to_jsonb(OLD) - 'last_seq' - 'title' - 'topic') THEN
            RAISE EXCEPTION 'row-level security: members may only take a channel''s next seq'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.title, NEW.topic) IS DISTINCT FROM (OLD.title, OLD.topic) THEN
            IF OLD.kind <> 'channel' OR NOT OLD.id = ANY (chat_rls_owned_channel_ids())
                    OR NEW.last_seq IS DISTINCT FROM OLD.last_seq THEN
                RAISE EXCEPTION 'row-level security: only owners change a title or topic'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF NEW.last_seq IS DISTINCT FROM OLD.last_seq + 1 THEN
            RAISE EXCEPTION 'row-level security: members may only take a channel''s next seq'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
]

# The functions of 0003 that this migration replaces (put back when it is reversed).
REPLACED_FUNCTIONS = (
    "CREATE FUNCTION chat_rls_may_claim_channel",
    "\n    CREATE FUNCTION chat_rls_guard_channel",
)

CHANNEL_VISIBLE = f"({IS_USER} AND (NOT is_private OR id = ANY ({MY_CHANNELS})))"

# (table, policy name, command, USING, WITH CHECK): each replaces the 0003 policy of that name.
POLICIES = [
    # --- chat_channel
    (
        "chat_channel",
        "chat_channel_select",
        "SELECT",
        f"{IS_SERVICE} OR {MODERATES_ROW} OR {CHANNEL_VISIBLE}",
        None,
    ),
    (
        "chat_channel",
        "chat_channel_insert",
        "INSERT",
        None,
        f"{IS_SERVICE} OR {MODERATES_ROW} OR ({IS_USER} AND created_by_id = {USER_ID})",
    ),
    (
        "chat_channel",
        "chat_channel_update",
        "UPDATE",
        f"{IS_SERVICE} OR {MODERATES_ROW} OR {CHANNEL_VISIBLE}",
        f"{IS_SERVICE} OR {MODERATES_ROW} OR {CHANNEL_VISIBLE}",
    ),
    ("chat_channel", "chat_channel_delete", "DELETE", f"{IS_SERVICE} OR {MODERATES_ROW}", None),
    # --- chat_membership
    (
        "chat_membership",
        "chat_membership_select",
        "SELECT",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR {visible_channel('channel_id')}))",
        None,
    ),
    (
        "chat_membership",
        "chat_membership_insert",
        "INSERT",
        None,
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND ("
        # join a live public channel
        f"(user_id = {USER_ID} AND role = 'member' AND EXISTS (SELECT 1 FROM chat_channel c "
        "WHERE c.id = channel_id AND NOT c.is_private AND c.archived_at IS NULL))"
        # the creator becomes the first owner of a new channel
        f" OR (user_id = {USER_ID} AND role = 'owner' AND chat_rls_may_claim_channel(channel_id))"
        # owners add members (a direct message has no owners)
        f" OR (role = 'member' AND channel_id = ANY ({MY_OWNED_CHANNELS}))"
        # the creator of a direct message adds the members its key names
        " OR (role = 'member' AND chat_rls_may_seed_dm(channel_id, user_id))"
        "))",
    ),
    (
        "chat_membership",
        "chat_membership_update",
        "UPDATE",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})))",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})))",
    ),
    (
        # Leaving and removing members happen in channels; a direct message's members stay.
        "chat_membership",
        "chat_membership_delete",
        "DELETE",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND (user_id = {USER_ID} "
        f"OR channel_id = ANY ({MY_OWNED_CHANNELS})) AND {is_channel('channel_id')})",
        None,
    ),
    # --- chat_message
    (
        "chat_message",
        "chat_message_select",
        "SELECT",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND "
        f"{visible_channel('channel_id')})",
        None,
    ),
    (
        "chat_message",
        "chat_message_update",
        "UPDATE",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND user_id = {USER_ID} "
        f"AND {visible_channel('channel_id')})",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND user_id = {USER_ID})",
    ),
    (
        "chat_message",
        "chat_message_delete",
        "DELETE",
        f"{IS_SERVICE} OR {moderates('channel_id')} OR ({IS_USER} AND user_id = {USER_ID})",
        None,
    ),
]


def _policy_sql(table, name, command, using, check):
    sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command}"
    if using is not None:
        sql += f" USING ({using})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    return sql


def _context(apps, connection):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
    return {"schema": schema, "user_id_type": user_model._meta.pk.rel_db_type(connection)}


def kind_defaults_to_channel(apps, schema_editor):
    """PostgreSQL: rows written in SQL (imports, psql) are channels unless they say so."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE chat_channel ALTER COLUMN kind SET DEFAULT 'channel'")


def kind_has_no_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE chat_channel ALTER COLUMN kind DROP DEFAULT")


def keep_direct_messages_private(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    context = _context(apps, connection)
    for function in FUNCTIONS:
        schema_editor.execute(function.format(**context))
    for table, name, command, using, check in POLICIES:
        schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        schema_editor.execute(_policy_sql(table, name, command, using, check).format(**context))


def let_moderators_read_direct_messages(apps, schema_editor):
    """Reverse: the 0003 policies (moderators read everything), from that migration."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from importlib import import_module

    rls_0003 = import_module("chat.migrations.0003_row_level_security")
    context = _context(apps, connection)
    replaced = {name for _table, name, *_ in POLICIES}
    for table, name, command, using, check in rls_0003.POLICIES:
        if name in replaced:
            schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
            schema_editor.execute(
                rls_0003._policy_sql(table, name, command, using, check).format(**context)
            )
    for function in rls_0003.FUNCTIONS:
        if function.startswith(REPLACED_FUNCTIONS):
            schema_editor.execute(
                function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).format(
                    **context
                )
            )
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS chat_rls_may_seed_dm(uuid, {user_id_type})".format(**context)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_row_level_security"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="dm_key",
            field=models.CharField(blank=True, editable=False, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="channel",
            name="kind",
            field=models.CharField(
                choices=[("channel", "Channel"), ("dm", "Direct message")],
                default="channel",
                max_length=16,
            ),
        ),
        migrations.RunPython(kind_defaults_to_channel, kind_has_no_default, elidable=False),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["channel", "dm"])), name="chat_channel_kind"
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        models.Q(("dm_key__isnull", True), ("kind", "channel")),
                        models.Q(("name__startswith", "dm."), _negated=True),
                    ),
                    models.Q(
                        ("dm_key__isnull", False),
                        ("is_private", True),
                        ("kind", "dm"),
                        ("name__startswith", "dm."),
                    ),
                    _connector="OR",
                ),
                name="chat_channel_dm_shape",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                fields=("dm_key",), name="chat_channel_dm_key_unique"
            ),
        ),
        migrations.RunPython(
            keep_direct_messages_private, let_moderators_read_direct_messages, elidable=False
        ),
    ]
