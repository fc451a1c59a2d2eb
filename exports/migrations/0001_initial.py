"""Per-user exports (docs/integrations.md, "Exporting your own data"), with row-level
security in the terms of chat/migrations/0003_row_level_security: users read and ask for
their own exports only; the worker, as the service, builds, updates and removes them.
"""

# The SQL below is assembled from constants of this module and of chat's 0003 only.
# ruff: noqa: S608

import importlib
import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

OWN = f"({rls.IS_USER} AND user_id = {rls.USER_ID})"
POLICIES = [
    (
        "exports_userexport",
        "exports_userexport_select",
        "SELECT",
        f"{rls.IS_SERVICE} OR {OWN}",
        None,
    ),
    (
        "exports_userexport",
        "exports_userexport_insert",
        "INSERT",
        None,
        f"{rls.IS_SERVICE} OR ({OWN} AND status = 'pending')",
    ),
    ("exports_userexport", "exports_userexport_update", "UPDATE", rls.IS_SERVICE, rls.IS_SERVICE),
    ("exports_userexport", "exports_userexport_delete", "DELETE", rls.IS_SERVICE, None),
]


def secure_exports(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, ["exports_userexport"])
    rls.grant_tables(schema_editor, ["exports_userexport"])


def unsecure_exports(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, ["exports_userexport"])


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("chat", "0013_channel_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UserExport",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for the worker"),
                            ("running", "Being built"),
                            ("ready", "Ready to download"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("storage_key", models.CharField(blank=True, default="", max_length=255)),
                ("size", models.BigIntegerField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="data_exports",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["user", "-created_at"], name="exports_user_recent")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status__in", ["pending", "running", "ready", "failed"])
                        ),
                        name="exports_userexport_status",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "ready"), _negated=True),
                            models.Q(("expires_at__isnull", False), ("size__isnull", False)),
                            _connector="OR",
                        ),
                        name="exports_userexport_ready",
                    ),
                ],
            },
        ),
        migrations.RunPython(secure_exports, unsecure_exports),
    ]
