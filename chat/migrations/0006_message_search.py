"""The search index of live messages and the function that searches it (docs/search.md).

PostgreSQL only; on SQLite every operation here is a no-op and search falls back to a plain
substring match.

Why a table of its own: chat_message is under FORCE ROW LEVEL SECURITY, and PostgreSQL
evaluates a policy's conditions before any condition of the query whose operator is not
LEAKPROOF. Full-text match (``@@``) and ``LIKE`` are not, so under the policies neither the
GIN nor the trigram index could ever be used: every search would read every visible message.
``chat_message_search`` holds one row per live message (kept by a trigger on chat_message,
in the same transaction as the change: an edit is searchable at once, a tombstone is gone;
no foreign key, so that chat_message can be truncated on its own, which the trigger follows),
with

- ``search_vector``: a generated tsvector of the content under the ``simple`` text search
  configuration, GIN-indexed, for whole words, prefixes and phrases;
- a trigram GIN index (pg_trgm) on ``chat_search_fold(content)``: the content in lower case
  without underscores and hyphens, for parts of words, URLs and code identifiers
  (``get_user_id``, ``getUserId`` and ``get-user-id`` all fold to ``getuserid``).

The table has row-level security enabled but not forced: its owner (the role that migrates)
reads it without the policies, and only through ``chat_search``, a SECURITY DEFINER function
that restricts every search to the caller's channels by reading chat_channel, which is still
under its forced policies and so answers with what the caller (``app.user_id``, ``app.role``)
may see. Anyone else reads a row of the index only where the policy lets them read its
message. The runtime role may only read it.

pg_trgm is a trusted extension (PostgreSQL 13 and later): the database's owner may create it
without being a superuser.
"""

# The SQL below is assembled from constants of this module only, never from input.
# ruff: noqa: S608

from django.conf import settings
from django.db import migrations

FOLD_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_search_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(translate($1, '_-', '')) $$
"""

CREATE_TABLE = """
CREATE TABLE chat_message_search (
    message_id uuid PRIMARY KEY,
    channel_id uuid NOT NULL,
    user_id {user_id_type} NOT NULL,
    created_at timestamptz NOT NULL,
    content text NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED
)
"""

CREATE_INDEXES = [
    "CREATE INDEX chat_message_search_vector ON chat_message_search USING gin (search_vector)",
    "CREATE INDEX chat_message_search_trgm ON chat_message_search"
    " USING gin (chat_search_fold(content) gin_trgm_ops)",
    "CREATE INDEX chat_message_search_author ON chat_message_search (user_id, created_at)",
    "CREATE INDEX chat_message_search_recent ON chat_message_search (created_at)",
]
DROP_INDEXES = [
    "DROP INDEX IF EXISTS chat_message_search_vector",
    "DROP INDEX IF EXISTS chat_message_search_trgm",
    "DROP INDEX IF EXISTS chat_message_search_author",
    "DROP INDEX IF EXISTS chat_message_search_recent",
]

SYNC_FUNCTION = """
CREATE FUNCTION chat_message_search_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            TRUNCATE chat_message_search;
        ELSIF TG_OP = 'DELETE' OR NEW.deleted_at IS NOT NULL THEN
            DELETE FROM chat_message_search WHERE message_id = OLD.id;
        ELSE
            INSERT INTO chat_message_search (message_id, channel_id, user_id, created_at, content)
            VALUES (NEW.id, NEW.channel_id, NEW.user_id, NEW.created_at, NEW.content)
            ON CONFLICT (message_id)
            DO UPDATE SET content = EXCLUDED.content, created_at = EXCLUDED.created_at;
        END IF;
        RETURN NULL;
    END
    $$
"""
SYNC_TRIGGERS = [
    "CREATE TRIGGER chat_message_search_sync"
    " AFTER INSERT OR UPDATE OF content, deleted_at, created_at OR DELETE"
    " ON chat_message FOR EACH ROW EXECUTE FUNCTION chat_message_search_sync()",
    "CREATE TRIGGER chat_message_search_truncate AFTER TRUNCATE ON chat_message"
    " FOR EACH STATEMENT EXECUTE FUNCTION chat_message_search_sync()",
]

# Relevance orders the newest this many matches: finding them is one index scan (GIN for few
# matches, created_at backwards for many), while ranking every match of a common word in a
# large history would read all of them.
SEARCH_CANDIDATES = 1000

# One search: the terms as parallel arrays (tsquery, LIKE pattern or NULL, group number);
# a message matches when, in every group, one term matches its words or its folded text.
# The only text spliced into the dynamic SQL is array subscripts; values go in with USING.
SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_search(
    term_queries tsquery[], term_patterns text[], term_groups integer[],
    excluded tsquery, rank_exact tsquery, rank_prefix tsquery,
    author_ids {user_id_type}[], channel_ids uuid[], has_link boolean,
    created_from timestamptz, created_before timestamptz,
    after_rank double precision, after_created timestamptz, after_id uuid,
    max_rows integer
) RETURNS TABLE (message_id uuid, rank double precision, created_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, {schema}, pg_temp
    -- Compiling the query costs more than it saves: searches read few rows by index.
    SET jit = off
    AS $$
    DECLARE
        -- What the caller may see, as the forced policies of chat_channel answer for them.
        visible uuid[] := ARRAY(SELECT c.id FROM chat_channel c);
        conditions text := '';
        grouped text;
        i integer;
        g integer;
    BEGIN
        IF array_length(term_groups, 1) IS NOT NULL THEN
            FOR g IN SELECT DISTINCT x FROM unnest(term_groups) AS x ORDER BY 1 LOOP
                grouped := '';
                FOR i IN 1 .. array_length(term_groups, 1) LOOP
                    CONTINUE WHEN term_groups[i] <> g;
                    grouped := grouped || CASE WHEN grouped = '' THEN '' ELSE ' OR ' END
                        || format('s.search_vector @@ $1[%s]', i);
                    IF term_patterns[i] IS NOT NULL THEN
                        grouped := grouped
                            || format(' OR chat_search_fold(s.content) LIKE $2[%s]', i);
                    END IF;
                END LOOP;
                conditions := conditions || ' AND (' || grouped || ')';
            END LOOP;
        END IF;
        RETURN QUERY EXECUTE
            'SELECT r.message_id, r.rank, r.created_at FROM ('
            ' SELECT c.message_id, c.created_at, round((2 * coalesce(ts_rank(c.search_vector,'
            ' $5, 1), 0) + coalesce(ts_rank(c.search_vector, $6, 1), 0))::numeric, 6)::float8'
            ' AS rank FROM ('
            '  SELECT s.message_id, s.created_at, s.search_vector FROM chat_message_search s'
            '  WHERE s.channel_id = ANY ($3)'
            || conditions ||
            '  AND ($4 IS NULL OR NOT s.search_vector @@ $4)'
            '  AND ($7 IS NULL OR s.user_id = ANY ($7))'
            '  AND ($8 IS NULL OR s.channel_id = ANY ($8))'
            '  AND (NOT $9 OR s.content ~* ''https?://'')'
            '  AND ($10 IS NULL OR s.created_at >= $10)'
            '  AND ($11 IS NULL OR s.created_at < $11)'
            '  ORDER BY s.created_at DESC LIMIT {candidates}'
            ' ) c'
            ') r WHERE $12 IS NULL OR (r.rank, r.created_at, r.message_id) < ($12, $13, $14)'
            ' ORDER BY r.rank DESC, r.created_at DESC, r.message_id DESC LIMIT $15'
            USING term_queries, term_patterns, visible, excluded, rank_exact, rank_prefix,
                author_ids, channel_ids, has_link, created_from, created_before,
                after_rank, after_created, after_id, max_rows;
    END
    $$
"""

SEARCH_SIGNATURE = (
    "chat_search(tsquery[], text[], integer[], tsquery, tsquery, tsquery, {user_id_type}[],"
    " uuid[], boolean, timestamptz, timestamptz, double precision, timestamptz, uuid, integer)"
)

POLICY = (
    "CREATE POLICY chat_message_search_select ON chat_message_search AS PERMISSIVE FOR SELECT"
    " USING (EXISTS (SELECT 1 FROM chat_message m WHERE m.id = message_id))"
)


def _user_id_type(apps, connection):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    return user_model._meta.pk.rel_db_type(connection)


def _current_schema(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return connection.ops.quote_name(cursor.fetchone()[0])


def _runtime_role(connection):
    role = getattr(settings, "DATABASE_APP_ROLE", "chatsite_app")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return None
    return connection.ops.quote_name(role)


def add_search(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = _current_schema(connection)
    user_id_type = _user_id_type(apps, connection)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(FOLD_FUNCTION)
    schema_editor.execute(CREATE_TABLE.format(user_id_type=user_id_type))
    for statement in CREATE_INDEXES:
        schema_editor.execute(statement)
    schema_editor.execute("ALTER TABLE chat_message_search ENABLE ROW LEVEL SECURITY")
    schema_editor.execute(POLICY)
    role = _runtime_role(connection)
    if role is not None:
        schema_editor.execute(f"REVOKE ALL ON chat_message_search FROM {role}")
        schema_editor.execute(f"GRANT SELECT ON chat_message_search TO {role}")
    schema_editor.execute(SYNC_FUNCTION.format(schema=schema))
    for trigger in SYNC_TRIGGERS:
        schema_editor.execute(trigger)
    # No parameters: the body's own %s (format placeholders) must reach the server as they are.
    schema_editor.execute(
        SEARCH_FUNCTION.format(
            schema=schema, user_id_type=user_id_type, candidates=SEARCH_CANDIDATES
        ),
        None,
    )
    schema_editor.execute(
        "INSERT INTO chat_message_search (message_id, channel_id, user_id, created_at, content)"
        " SELECT id, channel_id, user_id, created_at, content FROM chat_message"
        " WHERE deleted_at IS NULL"
    )


def drop_search(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    user_id_type = _user_id_type(apps, connection)
    schema_editor.execute("DROP TRIGGER IF EXISTS chat_message_search_sync ON chat_message")
    schema_editor.execute("DROP TRIGGER IF EXISTS chat_message_search_truncate ON chat_message")
    schema_editor.execute("DROP FUNCTION IF EXISTS chat_message_search_sync()")
    schema_editor.execute(
        f"DROP FUNCTION IF EXISTS {SEARCH_SIGNATURE.format(user_id_type=user_id_type)}"
    )
    schema_editor.execute("DROP TABLE IF EXISTS chat_message_search")
    schema_editor.execute("DROP FUNCTION IF EXISTS chat_search_fold(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_rich_messages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(add_search, drop_search, elidable=False),
    ]
