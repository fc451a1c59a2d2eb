"""Uploads (docs/api.md, "Attachments"), with their row-level security.

Row-level security for ``files_upload`` (PostgreSQL only), in the terms of
chat/migrations/0003_row_level_security: an upload that no message carries yet is its
uploader's alone (to read, to attach, to delete); once a message carries it, anyone who can
read that live message reads it (the sub-select on chat_message goes through that table's own
policies, so direct messages stay their members', moderators included); a tombstoned message's
files are nobody's but the service's. Members attach only their own uploads, only to their own
live messages, and a trigger keeps them to those two columns; the service does anything (the
sweep of uploads never attached).
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

OWN_UNATTACHED = f"(uploader_id = {rls.USER_ID} AND message_id IS NULL)"
READABLE_MESSAGE = (
    "EXISTS (SELECT 1 FROM chat_message m WHERE m.id = message_id AND m.deleted_at IS NULL)"
)
OWN_LIVE_MESSAGE = (
    "EXISTS (SELECT 1 FROM chat_message m WHERE m.id = message_id "
    f"AND m.user_id = {rls.USER_ID} AND m.deleted_at IS NULL)"
)

UPLOAD_POLICIES = [
    (
        "files_upload",
        "files_upload_select",
        "SELECT",
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND ({OWN_UNATTACHED} "
        f"OR (message_id IS NOT NULL AND {READABLE_MESSAGE})))",
        None,
    ),
    (
        "files_upload",
        "files_upload_insert",
        "INSERT",
        None,
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND {OWN_UNATTACHED})",
    ),
    (
        "files_upload",
        "files_upload_update",
        "UPDATE",
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND {OWN_UNATTACHED})",
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND uploader_id = {rls.USER_ID} "
        f"AND (message_id IS NULL OR {OWN_LIVE_MESSAGE}))",
    ),
    (
        "files_upload",
        "files_upload_delete",
        "DELETE",
        f"{rls.IS_SERVICE} OR ({rls.IS_USER} AND {OWN_UNATTACHED})",
        None,
    ),
]

GUARD = """
    CREATE FUNCTION files_rls_guard_upload() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, {schema}, pg_temp
    AS $$
    BEGIN
        IF coalesce(current_setting('app.role', true), '') = 'service' THEN
            RETURN NEW;
        END IF;
        IF (to_jsonb(NEW) - 'message_id' - 'attached_at')
                IS DISTINCT FROM (to_jsonb(OLD) - 'message_id' - 'attached_at') THEN
            RAISE EXCEPTION 'row-level security: members only attach their uploads'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
"""


def secure_uploads(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema = rls._current_schema(connection)
    schema_editor.execute(GUARD.format(schema=schema))
    schema_editor.execute(
        "CREATE TRIGGER files_rls_guard_upload BEFORE UPDATE ON files_upload "
        "FOR EACH ROW EXECUTE FUNCTION files_rls_guard_upload()"
    )
    rls.secure_tables(apps, schema_editor, UPLOAD_POLICIES, ["files_upload"])
    rls.grant_tables(schema_editor, ["files_upload"])


def unsecure_uploads(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    rls.unsecure_tables(schema_editor, UPLOAD_POLICIES, ["files_upload"])
    schema_editor.execute("DROP TRIGGER IF EXISTS files_rls_guard_upload ON files_upload")
    schema_editor.execute("DROP FUNCTION IF EXISTS files_rls_guard_upload()")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("chat", "0011_message_attachments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Upload",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=255)),
                ("size", models.BigIntegerField()),
                ("content_type", models.CharField(max_length=100)),
                ("storage_key", models.CharField(max_length=255, unique=True)),
                ("thumbnail_key", models.CharField(blank=True, default="", max_length=255)),
                ("width", models.IntegerField(blank=True, null=True)),
                ("height", models.IntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("attached_at", models.DateTimeField(blank=True, null=True)),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="uploads",
                        to="chat.message",
                    ),
                ),
                (
                    "uploader",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="uploads",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("message__isnull", True)),
                        fields=["created_at"],
                        name="files_upload_unattached",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("size__gte", 0)), name="files_upload_size"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("message__isnull", True),
                            ("attached_at__isnull", False),
                            _connector="OR",
                        ),
                        name="files_upload_attached_at",
                    ),
                ],
            },
        ),
        migrations.RunPython(secure_uploads, unsecure_uploads, elidable=False),
    ]
