"""Outgoing webhooks and their delivery log (docs/integrations.md).

Row-level security, as for incoming webhooks in 0001: the service role (the message service
when it schedules deliveries, the worker that sends them) and moderators do anything; a
channel's owners read, make (as themselves) and revoke the outgoing hooks of their channels
and read their deliveries. Members and anonymous see no row.
"""

# ruff: noqa: S608 - the policies are built from constants

import importlib
import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

OWNS_CHANNEL = f"({rls.IS_USER} AND channel_id = ANY ({rls.MY_OWNED_CHANNELS}))"
OWNS_HOOK = (
    f"({rls.IS_USER} AND hook_id IN (SELECT id FROM integrations_outgoingwebhook"
    f" WHERE channel_id = ANY ({rls.MY_OWNED_CHANNELS})))"
)
HOOKS = "integrations_outgoingwebhook"
DELIVERIES = "integrations_outgoingdelivery"

POLICIES = [
    (HOOKS, "outhook_all", "ALL", rls.PRIVILEGED, rls.PRIVILEGED),
    (HOOKS, "outhook_owner_select", "SELECT", OWNS_CHANNEL, None),
    (
        HOOKS,
        "outhook_owner_insert",
        "INSERT",
        None,
        f"{OWNS_CHANNEL} AND created_by_id = {rls.USER_ID}",
    ),
    (HOOKS, "outhook_owner_update", "UPDATE", OWNS_CHANNEL, OWNS_CHANNEL),
    (DELIVERIES, "outdelivery_all", "ALL", rls.PRIVILEGED, rls.PRIVILEGED),
    (DELIVERIES, "outdelivery_owner_select", "SELECT", OWNS_HOOK, None),
]
TABLES = [HOOKS, DELIVERIES]
SEQUENCES = ["integrations_outgoingdelivery_id_seq"]


def secure(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, TABLES)
    rls.grant_tables(schema_editor, TABLES, sequences=SEQUENCES)


def unsecure(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("chat", "0012_message_sender_override"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OutgoingWebhook",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=80)),
                ("url", models.CharField(max_length=2000)),
                ("trigger_words", models.JSONField(blank=True, default=list)),
                ("secret", models.CharField(editable=False, max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "bot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="outgoing_hooks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outgoing_hooks",
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
        migrations.CreateModel(
            name="OutgoingDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("trigger_word", models.CharField(blank=True, max_length=100)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("delivered", "Delivered"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("last_status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "hook",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="integrations.outgoingwebhook",
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="chat.message",
                    ),
                ),
            ],
            options={"ordering": ["-created_at"], "verbose_name_plural": "outgoing deliveries"},
        ),
        migrations.RunPython(secure, unsecure),
    ]
