"""Push subscriptions and notification preferences (docs/api.md, "Push subscriptions" and
"Notification settings").

Row-level security (PostgreSQL only), in the terms of chat's 0003_row_level_security: a user
reads, adds, changes and removes only their own rows; the service (the worker that sends the
mail and the pushes, the unsubscribe link, an endpoint moving to another user) does anything.
Moderators have no reach here.
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

OWN_ROW = f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND user_id = {rls.USER_ID})"
TABLES = ["notifications_pushsubscription", "notifications_notificationpreference"]
POLICIES = [
    (table, f"{table}_{action.lower()}", action,
     None if action == "INSERT" else OWN_ROW,
     OWN_ROW if action in ("INSERT", "UPDATE") else None)
    for table in TABLES
    for action in ("SELECT", "INSERT", "UPDATE", "DELETE")
]  # fmt: skip


def secure(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    rls.secure_tables(apps, schema_editor, POLICIES, TABLES)
    # The runtime role reaches these tables through the default privileges of chat's 0003.


def unsecure(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, POLICIES, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_invitation"),
        ("notifications", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="notification_preference",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("email_enabled", models.BooleanField(default=True)),
                ("email_checked_through", models.BigIntegerField(default=0)),
                ("email_last_sent_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="PushSubscription",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("endpoint", models.URLField(max_length=2000, unique=True)),
                ("p256dh", models.CharField(max_length=100)),
                ("auth", models.CharField(max_length=40)),
                ("user_agent", models.CharField(blank=True, default="", max_length=300)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="push_subscriptions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.RunPython(secure, unsecure),
    ]
