"""Attachments on messages (docs/api.md, "Attachments").

``chat_message`` gains ``attachments``: the summary of the files a message carries, written
once by the service when the message is posted; a live message may now be files alone (empty
content beside at least one attachment) (the files themselves are rows of
``files_upload``, whose row-level security is in files/migrations/0001_initial.py). The guard
on ``chat_message`` is replaced by one that also keeps members from rewriting that summary
after the insert.
"""

# The SQL below is assembled from constants of this module and of 0003/0005 only.
# ruff: noqa: S608

import importlib

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")
rich = importlib.import_module("chat.migrations.0005_rich_messages")

GUARD_FIXED_WITH_ATTACHMENTS = rich.GUARD_FIXED_AFTER.replace(
    "NEW.reactions)", "NEW.reactions, NEW.attachments)"
)
GUARD_FIXED_OLD_WITH_ATTACHMENTS = rich.GUARD_FIXED_OLD_AFTER.replace(
    "OLD.reactions)", "OLD.reactions, OLD.attachments)"
)


def _guard_function(*, with_attachments):
    function = rich._guard_function(extended=True)
    if with_attachments:
        function = function.replace(rich.GUARD_FIXED_AFTER, GUARD_FIXED_WITH_ATTACHMENTS, 1)
        function = function.replace(rich.GUARD_FIXED_OLD_AFTER, GUARD_FIXED_OLD_WITH_ATTACHMENTS, 1)
        assert GUARD_FIXED_WITH_ATTACHMENTS in function
        assert GUARD_FIXED_OLD_WITH_ATTACHMENTS in function
    return function


def _replace_guard(schema_editor, apps, *, with_attachments):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = rls._current_schema(connection)
    user_id_type = rls._user_id_type(apps, connection)
    schema_editor.execute(
        _guard_function(with_attachments=with_attachments).format(
            schema=schema, user_id_type=user_id_type
        )
    )


def guard_attachments(apps, schema_editor):
    _replace_guard(schema_editor, apps, with_attachments=True)


def unguard_attachments(apps, schema_editor):
    _replace_guard(schema_editor, apps, with_attachments=False)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0010_search_words"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="attachments",
            field=models.JSONField(
                blank=True,
                db_default=models.Value([], models.JSONField()),
                default=list,
                editable=False,
            ),
        ),
        migrations.RemoveConstraint(model_name="message", name="chat_message_content_len"),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        django.db.models.lookups.GreaterThanOrEqual(
                            django.db.models.functions.text.Length("content"), 1
                        ),
                        django.db.models.lookups.LessThanOrEqual(
                            django.db.models.functions.text.Length("content"), 4000
                        ),
                        ("deleted_at__isnull", True),
                    ),
                    models.Q(("content", ""), ("deleted_at__isnull", False)),
                    models.Q(
                        ("content", ""),
                        ("deleted_at__isnull", True),
                        models.Q(("attachments", []), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="chat_message_content_len",
            ),
        ),
        migrations.RunPython(guard_attachments, unguard_attachments, elidable=False),
    ]
