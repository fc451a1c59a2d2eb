"""Bot API tokens and incoming webhooks (docs/integrations.md).

Row-level security (PostgreSQL only), in the terms of chat's 0003_row_level_security: the
service role (which looks a token up for a request that has no user yet) does anything;
moderators manage every bot token and hook; a channel's owners read, make (as themselves) and
revoke the hooks of their channels. Members and anonymous see no row.
"""

import importlib
import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

OWNS_CHANNEL = f"({rls.IS_USER} AND channel_id = ANY ({rls.MY_OWNED_CHANNELS}))"

POLICIES = [
    ("integrations_bottoken", "bottoken_all", "ALL", rls.PRIVILEGED, rls.PRIVILEGED),
    ("integrations_incomingwebhook", "hook_all", "ALL", rls.PRIVILEGED, rls.PRIVILEGED),
    ("integrations_incomingwebhook", "hook_owner_select", "SELECT", OWNS_CHANNEL, None),
    (
        "integrations_incomingwebhook",
        "hook_owner_insert",
        "INSERT",
        None,
        f"{OWNS_CHANNEL} AND created_by_id = {rls.USER_ID}",
    ),
    ("integrations_incomingwebhook", "hook_owner_update", "UPDATE", OWNS_CHANNEL, OWNS_CHANNEL),
]
TABLES = ["integrations_bottoken", "integrations_incomingwebhook"]


def secure(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, TABLES)
    rls.grant_tables(schema_editor, TABLES)


def unsecure(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, TABLES)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0007_user_is_bot"),
        ("chat", "0012_message_sender_override"),
    ]

    operations = [
        migrations.CreateModel(
            name="BotToken",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=80)),
                ("token_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("channel_ids", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "bot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bot_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at"]},
        ),
        migrations.CreateModel(
            name="IncomingWebhook",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=80)),
                ("token_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "bot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="hooks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="hooks",
                        to="chat.channel",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at"]},
        ),
        migrations.RunPython(secure, unsecure),
    ]
