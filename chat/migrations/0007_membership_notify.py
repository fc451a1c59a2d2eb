"""Per-membership notification settings (docs/api.md, "Mentions"): ``notify`` (``all``,
``mentions`` by default, ``none``) and ``muted``.

Row-level security (PostgreSQL only): the guard on ``chat_membership`` is replaced by one that
lets members change their own ``notify`` and ``muted`` as they move their own read marker;
everything else about it is the guard of 0003_row_level_security.
"""

import importlib

from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

GUARD_BEFORE = (
    "IF (to_jsonb(NEW) - 'last_read_seq' - 'role')\n"
    "                IS DISTINCT FROM (to_jsonb(OLD) - 'last_read_seq' - 'role')\n"
    "            OR (NEW.last_read_seq IS DISTINCT FROM OLD.last_read_seq"
)
GUARD_AFTER = (
    "IF (to_jsonb(NEW) - 'last_read_seq' - 'role' - 'notify' - 'muted')\n"
    "                IS DISTINCT FROM (to_jsonb(OLD) - 'last_read_seq' - 'role' - 'notify' - 'muted')\n"
    "            OR ((NEW.last_read_seq, NEW.notify, NEW.muted)\n"
    "                IS DISTINCT FROM (OLD.last_read_seq, OLD.notify, OLD.muted)"
)


def _guard_function(*, extended):
    (function,) = [f for f in rls.FUNCTIONS if "chat_rls_guard_membership()" in f]
    function = function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    assert GUARD_BEFORE in function
    if extended:
        function = function.replace(GUARD_BEFORE, GUARD_AFTER, 1)
    return function


def _replace_guard(*, extended):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        schema = rls._current_schema(connection)
        user_id_type = rls._user_id_type(apps, connection)
        schema_editor.execute(
            _guard_function(extended=extended).format(schema=schema, user_id_type=user_id_type)
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_message_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="muted",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="membership",
            name="notify",
            field=models.CharField(
                choices=[
                    ("all", "Every message"),
                    ("mentions", "Mentions and direct messages"),
                    ("none", "Nothing"),
                ],
                db_default="mentions",
                default="mentions",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(("notify__in", ["all", "mentions", "none"])),
                name="chat_membership_notify",
            ),
        ),
        migrations.RunPython(_replace_guard(extended=True), _replace_guard(extended=False)),
    ]
