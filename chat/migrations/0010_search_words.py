"""Search by words only, over a word list for parts of words, newest weeks first (docs/search.md).

PostgreSQL only, like 0006. Replaces the search index of 0006 with one that reads less:

- ``chat_message_search`` loses ``content`` and its trigram index. ``search_vector`` now holds
  the words of the content *and* of its folded form (``chat_search_fold``: lower case, no
  ``_`` or ``-``), so ``getuserid`` is a word of a message that says ``get_user_id``.
  ``week`` (weeks since 1970) and ``has_link`` are kept beside it by the trigger.
- ``chat_search_word`` lists every word that was ever indexed, with a trigram index. A part
  of a word (``figurati``) is looked up there first and becomes word beginnings
  (``configurati:*``), so every match is answered by the one GIN index of the messages.
  Words of messages deleted since stay listed; they simply match nothing.
- The GIN index holds ``(search_vector, week)`` (btree_gin, a trusted extension), so that a
  search can ask for the matches of the newest weeks only and read older weeks when it has
  not found enough: a common word no longer reads every message that holds it.

Why these choices, with the measurements: docs/search.md and docs/performance.md "Search".
The word list has row-level security enabled and no policy: only its owner (the migrating
role, through the SECURITY DEFINER functions) reads or writes it.
"""

# The SQL below is assembled from constants of this module only, never from input.
# ruff: noqa: S608

import importlib

from django.conf import settings
from django.db import migrations

_previous = importlib.import_module("chat.migrations.0006_message_search")

# Words longer than this are not listed: no part of them is found, the whole word still is.
MAX_LISTED_WORD = 255

CREATE_TABLE = """
CREATE TABLE chat_message_search (
    message_id uuid PRIMARY KEY,
    channel_id uuid NOT NULL,
    user_id {user_id_type} NOT NULL,
    created_at timestamptz NOT NULL,
    week integer NOT NULL,
    has_link boolean NOT NULL,
    search_vector tsvector NOT NULL
)
"""

CREATE_WORDS = "CREATE TABLE chat_search_word (word text PRIMARY KEY)"

CREATE_INDEXES = [
    "CREATE INDEX chat_message_search_vector ON chat_message_search"
    " USING gin (search_vector, week)",
    "CREATE INDEX chat_message_search_author ON chat_message_search (user_id, created_at)",
    "CREATE INDEX chat_message_search_recent ON chat_message_search (created_at)",
    "CREATE INDEX chat_search_word_trgm ON chat_search_word USING gin (word gin_trgm_ops)",
]
DROP_INDEXES = [
    "DROP INDEX IF EXISTS chat_message_search_vector",
    "DROP INDEX IF EXISTS chat_message_search_author",
    "DROP INDEX IF EXISTS chat_message_search_recent",
    "DROP INDEX IF EXISTS chat_search_word_trgm",
]

# A message's row of the index, from its content: the SELECT list that fills the table. Angle
# brackets become spaces first: the parser would read ``<script>`` as a tag and drop it.
ROW_VALUES = """
    to_tsvector('simple'::regconfig, translate({content}, '<>', '  '))
        || to_tsvector('simple'::regconfig, chat_search_fold(translate({content}, '<>', '  '))),
    {content} ~* 'https?://',
    floor(extract(epoch FROM {created_at}) / 604800)::integer
"""

# Listed in a fixed order, so that two transactions adding the same new words wait for each
# other instead of deadlocking.
LIST_WORDS = """
INSERT INTO chat_search_word (word)
SELECT w FROM unnest(tsvector_to_array({vector})) AS w
WHERE length(w) <= {longest} ORDER BY w COLLATE "C"
ON CONFLICT DO NOTHING
"""

SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_message_search_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    DECLARE
        vector tsvector;
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            TRUNCATE chat_message_search;
        ELSIF TG_OP = 'DELETE' OR NEW.deleted_at IS NOT NULL THEN
            DELETE FROM chat_message_search WHERE message_id = OLD.id;
        ELSE
            INSERT INTO chat_message_search AS s
                (message_id, channel_id, user_id, created_at, search_vector, has_link, week)
            SELECT NEW.id, NEW.channel_id, NEW.user_id, NEW.created_at, {row_values}
            ON CONFLICT (message_id) DO UPDATE SET
                created_at = EXCLUDED.created_at, search_vector = EXCLUDED.search_vector,
                has_link = EXCLUDED.has_link, week = EXCLUDED.week
            RETURNING s.search_vector INTO vector;
            {list_words};
        END IF;
        RETURN NULL;
    END
    $$
"""

# Relevance orders the newest this many matches (docs/search.md "Ranking").
SEARCH_CANDIDATES = 300
# The weeks a search reads first, back from the newest. When they hold too few matches, the
# next pass reads as many weeks as the matches found so far say are needed (with a margin),
# and everything once that is more than MAX_WINDOW_WEEKS: reading a window costs in
# proportion to its messages, reading everything in proportion to the matches.
FIRST_WEEKS = 4
MAX_WINDOW_WEEKS = 40
# A part of a word is looked up in at most this many listed words.
MAX_EXPANDED_WORDS = 10000

# One search. The terms come as parallel arrays: a tsquery of each term's words, its folded
# text when it is long enough to be searched as a part of a word (else NULL), and its group:
# a message matches when, in every group, one term matches. The only text spliced into the
# dynamic SQL is the week window; values go in with USING.
SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_search(
    term_queries tsquery[], term_parts text[], term_groups integer[],
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
        wanted tsquery;
        grouped tsquery;
        term tsquery;
        parts text;
        i integer;
        g integer;
        newest integer;
        oldest integer;
        weeks integer := {first_weeks};
        window_start integer;
        found uuid[];
    BEGIN
        -- Every group's terms, each with the words that hold its part, as one tsquery.
        IF array_length(term_groups, 1) IS NOT NULL THEN
            FOR g IN SELECT DISTINCT x FROM unnest(term_groups) AS x ORDER BY 1 LOOP
                grouped := NULL;
                FOR i IN 1 .. array_length(term_groups, 1) LOOP
                    CONTINUE WHEN term_groups[i] <> g;
                    term := term_queries[i];
                    IF term_parts[i] IS NOT NULL THEN
                        -- The beginning of each listed word up to the end of the part: a
                        -- word-beginning query for each, so the GIN index answers it.
                        SELECT string_agg(DISTINCT '''' || replace(replace(
                                   left(w.word, strpos(w.word, term_parts[i])
                                        + length(term_parts[i]) - 1),
                                   '\\', '\\\\'), '''', '''''') || ''':*', ' | ')
                          INTO parts
                          FROM (SELECT l.word FROM chat_search_word l
                                 WHERE l.word LIKE '%' || replace(replace(replace(
                                       term_parts[i], '\\', '\\\\'), '%', '\\%'), '_', '\\_')
                                       || '%'
                                 LIMIT {max_expanded}) w;
                        IF parts IS NOT NULL THEN
                            term := term || parts::tsquery;
                        END IF;
                    END IF;
                    grouped := CASE WHEN grouped IS NULL THEN term ELSE grouped || term END;
                END LOOP;
                wanted := CASE WHEN wanted IS NULL THEN grouped ELSE wanted && grouped END;
            END LOOP;
        END IF;
        IF wanted IS NOT NULL AND excluded IS NOT NULL THEN
            wanted := wanted && !! excluded;
        END IF;

        -- The newest matches: the newest weeks first, more weeks while too few are found.
        SELECT s.week INTO newest FROM chat_message_search s
         WHERE created_before IS NULL OR s.created_at < created_before
         ORDER BY s.created_at DESC LIMIT 1;
        oldest := floor(extract(epoch FROM created_from) / 604800)::integer;
        LOOP
            -- An author's messages are few and have an index of their own: one pass.
            window_start := CASE WHEN weeks > {max_window} OR wanted IS NULL
                                      OR author_ids IS NOT NULL THEN NULL
                                 ELSE newest - weeks + 1 END;
            IF window_start IS NOT NULL AND oldest IS NOT NULL AND window_start <= oldest THEN
                window_start := NULL;
            END IF;
            EXECUTE
                'SELECT array_agg(c.message_id) FROM ('
                ' SELECT s.message_id FROM chat_message_search s'
                ' WHERE s.channel_id = ANY ($2)'
                || CASE WHEN wanted IS NULL THEN '' ELSE ' AND s.search_vector @@ $1' END
                || CASE WHEN window_start IS NULL THEN ''
                        ELSE format(' AND s.week >= %s', window_start) END ||
                '  AND ($3 IS NULL OR NOT s.search_vector @@ $3)'
                '  AND ($4 IS NULL OR s.user_id = ANY ($4))'
                '  AND ($5 IS NULL OR s.channel_id = ANY ($5))'
                '  AND (NOT $6 OR s.has_link)'
                '  AND ($7 IS NULL OR s.created_at >= $7)'
                '  AND ($8 IS NULL OR s.created_at < $8)'
                -- (week, created_at): no index has this order, so the matches come from the
                -- GIN index and are sorted, never found by reading created_at backwards
                -- with a test of every message on the way.
                ' ORDER BY s.week DESC, s.created_at DESC LIMIT {candidates}) c'
                INTO found
                USING wanted, visible, CASE WHEN wanted IS NULL THEN excluded END,
                    author_ids, channel_ids, has_link, created_from, created_before;
            EXIT WHEN window_start IS NULL
                OR coalesce(array_length(found, 1), 0) >= {candidates};
            weeks := greatest(weeks * 2, ceil(weeks * 1.25 * {candidates}
                              / greatest(coalesce(array_length(found, 1), 0), 1))::integer);
        END LOOP;

        RETURN QUERY
            SELECT r.message_id, r.rank, r.created_at FROM (
                SELECT s.message_id, s.created_at, round((
                    2 * coalesce(ts_rank(s.search_vector, rank_exact, 1), 0)
                    + coalesce(ts_rank(s.search_vector, rank_prefix, 1), 0))::numeric, 6
                )::float8 AS rank
                FROM chat_message_search s WHERE s.message_id = ANY (found)
            ) r
            WHERE after_rank IS NULL
               OR (r.rank, r.created_at, r.message_id) < (after_rank, after_created, after_id)
            ORDER BY r.rank DESC, r.created_at DESC, r.message_id DESC
            LIMIT max_rows;
    END
    $$
"""

SEARCH_SIGNATURE = _previous.SEARCH_SIGNATURE


def fill(cursor):
    """Index every live message and list its words (here, and when bench/ loads a corpus)."""
    cursor.execute(
        "INSERT INTO chat_message_search"
        " (message_id, channel_id, user_id, created_at, search_vector, has_link, week)"
        " SELECT id, channel_id, user_id, created_at,"
        + ROW_VALUES.format(content="content", created_at="created_at")
        + " FROM chat_message WHERE deleted_at IS NULL"
    )
    cursor.execute(
        "INSERT INTO chat_search_word (word) SELECT DISTINCT w FROM chat_message_search,"
        f" unnest(tsvector_to_array(search_vector)) AS w WHERE length(w) <= {MAX_LISTED_WORD}"
    )


def add_words(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = _previous._current_schema(connection)
    user_id_type = _previous._user_id_type(apps, connection)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        f"DROP FUNCTION IF EXISTS {SEARCH_SIGNATURE.format(user_id_type=user_id_type)}"
    )
    schema_editor.execute("DROP TABLE chat_message_search")
    schema_editor.execute(CREATE_TABLE.format(user_id_type=user_id_type))
    schema_editor.execute(CREATE_WORDS)
    with connection.cursor() as cursor:
        fill(cursor)
    for statement in CREATE_INDEXES:
        schema_editor.execute(statement)
    # Word frequencies guide the choice between the GIN index and reading newest first.
    schema_editor.execute(
        "ALTER TABLE chat_message_search ALTER COLUMN search_vector SET STATISTICS 1000"
    )
    for table in ("chat_message_search", "chat_search_word"):
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    schema_editor.execute(_previous.POLICY)
    role = _previous._runtime_role(connection)
    if role is not None:
        schema_editor.execute(f"REVOKE ALL ON chat_message_search, chat_search_word FROM {role}")
        schema_editor.execute(f"GRANT SELECT ON chat_message_search TO {role}")
    schema_editor.execute(
        SYNC_FUNCTION.format(
            schema=schema,
            row_values=ROW_VALUES.format(content="NEW.content", created_at="NEW.created_at"),
            list_words=LIST_WORDS.format(vector="vector", longest=MAX_LISTED_WORD).strip(),
        ),
        None,
    )
    # No parameters: the body's own %s (format placeholders) must reach the server as they are.
    schema_editor.execute(
        SEARCH_FUNCTION.format(
            schema=schema,
            user_id_type=user_id_type,
            candidates=SEARCH_CANDIDATES,
            first_weeks=FIRST_WEEKS,
            max_window=MAX_WINDOW_WEEKS,
            max_expanded=MAX_EXPANDED_WORDS,
        ),
        None,
    )
    schema_editor.execute("ANALYZE chat_message_search")


def drop_words(apps, schema_editor):
    """Back to 0006's index: its table, function and trigger function, filled again."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    user_id_type = _previous._user_id_type(apps, connection)
    schema_editor.execute(
        f"DROP FUNCTION IF EXISTS {SEARCH_SIGNATURE.format(user_id_type=user_id_type)}"
    )
    schema_editor.execute("DROP TABLE IF EXISTS chat_message_search, chat_search_word")
    schema_editor.execute("DROP FUNCTION chat_message_search_sync() CASCADE")
    _previous.add_search(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0009_message_action"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(add_words, drop_words, elidable=False),
    ]
