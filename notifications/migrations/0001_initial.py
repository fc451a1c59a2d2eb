"""Mentions (docs/api.md, "Mentions").

Row-level security (PostgreSQL only), in the terms of chat's 0003_row_level_security: a user
reads only their own mentions; only the service writes them (the message services record them
for the people a message mentions, who are not its author). Moderators have no reach here:
a mention says what someone was called to, which is theirs alone.
"""

# The SQL below is assembled from constants of this module and of chat's 0003 only.
# ruff: noqa: S608

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

TABLE = "notifications_mention"
POLICIES = [
    (TABLE, "notifications_mention_select", "SELECT",
     f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND user_id = {rls.USER_ID})", None),
    (TABLE, "notifications_mention_insert", "INSERT", None, rls.IS_SERVICE),
    (TABLE, "notifications_mention_update", "UPDATE", rls.IS_SERVICE, rls.IS_SERVICE),
    (TABLE, "notifications_mention_delete", "DELETE", rls.IS_SERVICE, None),
]  # fmt: skip


def secure(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, [TABLE])
    rls.grant_tables(schema_editor, [TABLE], sequences=[f"{TABLE}_id_seq"])


def unsecure(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, [TABLE])


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("chat", "0007_membership_notify"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Mention",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("user", "@username"),
                            ("channel", "@channel"),
                            ("here", "@here"),
                            ("dm", "direct message"),
                        ],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="chat.channel",
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mentions",
                        to="chat.message",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mentions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["user", "-id"], name="notifications_mention_feed"),
                    models.Index(fields=["user", "channel"], name="notifications_mention_channel"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "message"), name="notifications_mention_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["user", "channel", "here", "dm"])),
                        name="notifications_mention_kind",
                    ),
                ],
            },
        ),
        migrations.RunPython(secure, unsecure),
    ]
