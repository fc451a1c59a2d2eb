"""Rich messages, reactions and threads (docs/api.md, "Rich messages", "Reactions",
"Threads").

Schema: ``chat_message`` gains ``rendered`` (the HTML clients show), ``parent_id`` (a reply's
top-level message), ``reply_count`` and ``last_reply_at`` (on a parent) and ``reactions`` (the
summary clients see); ``chat_reaction`` holds one row per (message, user, emoji).

Row-level security for ``chat_reaction`` (PostgreSQL only), in the terms of
0003_row_level_security: anyone signed in reads the reactions of the messages they can read
(the sub-select on chat_message goes through that table's own policies), adds reactions as
themselves to live messages they can read, and removes their own; moderators remove any; the
service does anything. The guard on ``chat_message`` is replaced by one that also keeps
members from moving a message into another thread or writing its reply count or reaction
summary (the services recompute those from the data, as the service).

Data: every existing message gets ``rendered`` from its content (tombstones render to '').
"""

# The SQL below is assembled from constants of this module and of 0003 only, never from input.
# ruff: noqa: S608

import importlib

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import JSONField, Value
from django.db.models.functions import Lower

rls = importlib.import_module("chat.migrations.0003_row_level_security")

REACTION_POLICIES = [
    (
        "chat_reaction",
        "chat_reaction_select",
        "SELECT",
        f"{rls.PRIVILEGED} OR ({rls.IS_USER} AND EXISTS "
        "(SELECT 1 FROM chat_message m WHERE m.id = message_id))",
        None,
    ),
    (
        "chat_reaction",
        "chat_reaction_insert",
        "INSERT",
        None,
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND user_id = {rls.USER_ID} AND EXISTS "
        "(SELECT 1 FROM chat_message m WHERE m.id = message_id AND m.deleted_at IS NULL))",
    ),
    ("chat_reaction", "chat_reaction_update", "UPDATE", rls.IS_SERVICE, rls.IS_SERVICE),
    (
        "chat_reaction",
        "chat_reaction_delete",
        "DELETE",
        f"{rls.PRIVILEGED} OR ({rls.IS_USER} AND user_id = {rls.USER_ID})",
        None,
    ),
]

# The columns of chat_message that only the service writes (or that never change).
GUARD_FIXED_BEFORE = "(NEW.id, NEW.channel_id, NEW.user_id, NEW.seq, NEW.created_at, NEW.client_id)"
GUARD_FIXED_OLD_BEFORE = (
    "(OLD.id, OLD.channel_id, OLD.user_id, OLD.seq, OLD.created_at, OLD.client_id)"
)
GUARD_FIXED_AFTER = (
    "(NEW.id, NEW.channel_id, NEW.user_id, NEW.seq, NEW.created_at, NEW.client_id, "
    "NEW.parent_id, NEW.reply_count, NEW.last_reply_at, NEW.reactions)"
)
GUARD_FIXED_OLD_AFTER = (
    "(OLD.id, OLD.channel_id, OLD.user_id, OLD.seq, OLD.created_at, OLD.client_id, "
    "OLD.parent_id, OLD.reply_count, OLD.last_reply_at, OLD.reactions)"
)


def _guard_function(*, extended):
    (function,) = [f for f in rls.FUNCTIONS if "chat_rls_guard_message()" in f]
    function = function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    if extended:
        function = function.replace(GUARD_FIXED_BEFORE, GUARD_FIXED_AFTER, 1)
        function = function.replace(GUARD_FIXED_OLD_BEFORE, GUARD_FIXED_OLD_AFTER, 1)
        assert GUARD_FIXED_AFTER in function and GUARD_FIXED_OLD_AFTER in function
    return function


def secure_reactions(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = rls._current_schema(connection)
    user_id_type = rls._user_id_type(apps, connection)
    schema_editor.execute(
        _guard_function(extended=True).format(schema=schema, user_id_type=user_id_type)
    )
    for policy in REACTION_POLICIES:
        schema_editor.execute(rls._policy_sql(*policy).format(user_id_type=user_id_type))
    schema_editor.execute("ALTER TABLE chat_reaction ENABLE ROW LEVEL SECURITY")
    schema_editor.execute("ALTER TABLE chat_reaction FORCE ROW LEVEL SECURITY")
    rls._grant_runtime_role(schema_editor, schema)


def unsecure_reactions(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = rls._current_schema(connection)
    user_id_type = rls._user_id_type(apps, connection)
    for _table, name, *_ in REACTION_POLICIES:
        schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON chat_reaction")
    schema_editor.execute(
        _guard_function(extended=False).format(schema=schema, user_id_type=user_id_type)
    )


# The rule of chat.services.messages.may_mention_everyone, on the models of this migration.
BROADCAST_MAX_MEMBERS = 50
MODERATOR_ROLES = ("moderator", "admin")


def render_existing(apps, schema_editor):
    """Render every live message's content; tombstones keep ''."""
    from chat import rendering
    from chatsite import rls as rls_context

    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    message_model = apps.get_model("chat", "Message")
    membership_model = apps.get_model("chat", "Membership")

    def lookup(names):
        users = user_model.objects.annotate(name=Lower("username")).filter(
            is_active=True, name__in=names
        )
        return {user.name: user.pk for user in users}

    with rls_context.acting_as_service():
        member_counts = {}
        live = message_model.objects.filter(deleted_at__isnull=True).select_related("user")
        for message in live.iterator(chunk_size=500):
            if message.channel_id not in member_counts:
                member_counts[message.channel_id] = membership_model.objects.filter(
                    channel_id=message.channel_id
                ).count()
            sender = message.user
            broadcast = (
                getattr(sender, "role", "") in MODERATOR_ROLES
                or sender.is_superuser
                or member_counts[message.channel_id] <= BROADCAST_MAX_MEMBERS
            )
            message.rendered = rendering.render_with_lookup(
                message.content, lookup=lookup, broadcast=broadcast
            )
            message.save(update_fields=["rendered"])


def forget_rendered(apps, schema_editor):
    """Nothing to undo: the column goes with the schema change."""


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_channel_kind_direct_messages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Reaction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("emoji", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["message", "created_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="message",
            name="last_reply_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="replies",
                to="chat.message",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="reactions",
            field=models.JSONField(
                blank=True, db_default=Value([], JSONField()), default=list, editable=False
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="rendered",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="message",
            name="reply_count",
            field=models.IntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("parent__isnull", False)),
                fields=["parent", "seq"],
                name="chat_message_thread",
            ),
        ),
        migrations.AddField(
            model_name="reaction",
            name="message",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reaction_rows",
                to="chat.message",
            ),
        ),
        migrations.AddField(
            model_name="reaction",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="reaction",
            constraint=models.UniqueConstraint(
                fields=("message", "user", "emoji"), name="chat_reaction_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="reaction",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.GreaterThanOrEqual(
                    django.db.models.functions.text.Length("emoji"), 1
                ),
                name="chat_reaction_emoji_len",
            ),
        ),
        migrations.RunPython(secure_reactions, unsecure_reactions, elidable=False),
        migrations.RunPython(render_existing, forget_rendered, elidable=False),
    ]
