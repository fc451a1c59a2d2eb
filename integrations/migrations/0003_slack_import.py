"""What Slack imports made (``integrations_slackobject``) and the imported accounts waiting for
their owners (``integrations_importedaccount``); docs/integrations.md, "Moving in from Slack".

Row-level security (PostgreSQL only): both tables are the service's alone. The map of Slack
ids is used by the management command only, which connects as the owner, so the runtime role
gets no access to it at all (the schema's default privileges are revoked for it). The claim
pages read and update imported accounts as the service (a visitor claiming an account is
nobody yet), so the runtime role has the usual grant on that table, and the policies let only
the service role through.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

POLICIES = [
    ("integrations_slackobject", "slackobject_service", "ALL", rls.IS_SERVICE, rls.IS_SERVICE),
    (
        "integrations_importedaccount",
        "importedaccount_service",
        "ALL",
        rls.IS_SERVICE,
        rls.IS_SERVICE,
    ),
]
TABLES = ["integrations_slackobject", "integrations_importedaccount"]
GRANTED = ["integrations_importedaccount"]


def secure(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, TABLES)
    rls.grant_tables(schema_editor, GRANTED)
    # The schema's default privileges grant every new table to the runtime role: take this
    # one back.
    role = rls.runtime_role(schema_editor)
    if role is not None:
        schema_editor.execute(f"REVOKE ALL ON integrations_slackobject FROM {role}")
        schema_editor.execute(f"REVOKE ALL ON SEQUENCE integrations_slackobject_id_seq FROM {role}")


def unsecure(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_outgoing_webhooks"),
        ("chat", "0012_message_sender_override"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SlackObject",
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
                            ("user", "User"),
                            ("bot", "Bot"),
                            ("channel", "Channel"),
                            ("message", "Message"),
                            ("file", "File"),
                        ],
                        max_length=16,
                    ),
                ),
                ("slack_id", models.CharField(max_length=200)),
                ("object_id", models.CharField(max_length=64)),
                ("imported_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "slack_id"), name="integrations_slack_key"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("kind__in", ["user", "bot", "channel", "message", "file"])
                        ),
                        name="integrations_slack_kind",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ImportedAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("source", models.CharField(default="slack", max_length=16)),
                ("source_id", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="imported_account",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(secure, unsecure),
    ]
