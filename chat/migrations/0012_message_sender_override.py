"""What an incoming webhook's caller asks to be shown as (docs/integrations.md):
``chat_message.sender_name`` and ``sender_icon``.

Row-level security (PostgreSQL only): outside the service role, only a bot's messages carry
them, so nobody else can post under another name.
"""

from django.db import migrations, models

GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_rls_guard_message_sender() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF coalesce(current_setting('app.role', true), '') = 'service' THEN
        RETURN NEW;
    END IF;
    IF (NEW.sender_name <> '' OR NEW.sender_icon <> '')
            AND (TG_OP = 'INSERT'
                 OR (NEW.sender_name, NEW.sender_icon) IS DISTINCT FROM
                    (OLD.sender_name, OLD.sender_icon))
            AND NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = NEW.user_id AND u.is_bot) THEN
        RAISE EXCEPTION 'row-level security: only bots post under another name'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""
GUARD_TRIGGER = (
    "CREATE TRIGGER chat_rls_guard_sender BEFORE INSERT OR UPDATE ON chat_message "
    "FOR EACH ROW EXECUTE FUNCTION chat_rls_guard_message_sender()"
)


def secure_sender(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD_FUNCTION)
    schema_editor.execute(GUARD_TRIGGER)


def unsecure_sender(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS chat_rls_guard_sender ON chat_message")
    schema_editor.execute("DROP FUNCTION IF EXISTS chat_rls_guard_message_sender()")


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0011_message_attachments"),
        ("accounts", "0007_user_is_bot"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="sender_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=80),
        ),
        migrations.AddField(
            model_name="message",
            name="sender_icon",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.RunPython(secure_sender, unsecure_sender),
    ]
