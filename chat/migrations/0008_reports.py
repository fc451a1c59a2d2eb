"""Members' reports of messages to the moderators (docs/moderation.md, "Reports").

Schema: ``chat_report``, one row per report, with the snapshot its reporter saw (the message
and a little context), at most one open report per reporter and message, and who closed it,
how and when.

Row-level security (PostgreSQL only), in the terms of 0003_row_level_security: members read
their own reports and file reports as themselves, open, of a live message they can read (the
sub-select on chat_message goes through that table's own policies), naming the message's own
channel and author; moderators read every report and close them; nobody but the service
deletes one.
"""

# The SQL below is assembled from constants of this module and of 0003 only, never from input.
# ruff: noqa: S608

import importlib
import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

rls = importlib.import_module("chat.migrations.0003_row_level_security")

REPORT_POLICIES = [
    (
        "chat_report",
        "chat_report_select",
        "SELECT",
        f"{rls.PRIVILEGED} OR ({rls.IS_USER} AND reporter_id = {rls.USER_ID})",
        None,
    ),
    (
        "chat_report",
        "chat_report_insert",
        "INSERT",
        None,
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND reporter_id = {rls.USER_ID} "
        "AND resolved_at IS NULL AND EXISTS (SELECT 1 FROM chat_message m "
        "WHERE m.id = chat_report.message_id AND m.channel_id = chat_report.channel_id "
        "AND m.user_id = chat_report.author_id AND m.deleted_at IS NULL))",
    ),
    ("chat_report", "chat_report_update", "UPDATE", rls.PRIVILEGED, rls.PRIVILEGED),
    ("chat_report", "chat_report_delete", "DELETE", rls.IS_SERVICE, None),
]


def secure_reports(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, REPORT_POLICIES, ["chat_report"])
    rls.grant_tables(schema_editor, ["chat_report"])


def unsecure_reports(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, REPORT_POLICIES, ["chat_report"])


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0007_membership_notify"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Report",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "channel_kind",
                    models.CharField(
                        choices=[("channel", "Channel"), ("dm", "Direct message")], max_length=16
                    ),
                ),
                ("channel_label", models.CharField(max_length=200)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("spam", "Spam"),
                            ("abuse", "Abusive or offensive"),
                            ("harassment", "Harassment"),
                            ("other", "Something else"),
                        ],
                        max_length=16,
                    ),
                ),
                ("detail", models.CharField(blank=True, default="", max_length=500)),
                ("snapshot", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "resolution",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("tombstoned", "Message tombstoned"),
                            ("dismissed", "Dismissed"),
                            ("author_deactivated", "Author deactivated"),
                        ],
                        max_length=32,
                        null=True,
                    ),
                ),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reports_received",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
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
                        related_name="reports",
                        to="chat.message",
                    ),
                ),
                (
                    "reporter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reports_made",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("resolved_at__isnull", True)),
                        fields=["-created_at"],
                        name="chat_report_open",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("resolved_at__isnull", True)),
                        fields=("message", "reporter"),
                        name="chat_report_one_open",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("reason__in", ["spam", "abuse", "harassment", "other"])
                        ),
                        name="chat_report_reason",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("resolution__isnull", True), ("resolved_at__isnull", True)),
                            models.Q(
                                (
                                    "resolution__in",
                                    ["tombstoned", "dismissed", "author_deactivated"],
                                ),
                                ("resolved_at__isnull", False),
                            ),
                            _connector="OR",
                        ),
                        name="chat_report_resolution",
                    ),
                ],
            },
        ),
        migrations.RunPython(secure_reports, unsecure_reports, elidable=False),
    ]
