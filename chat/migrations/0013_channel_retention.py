"""Retention (docs/integrations.md, "Retention"): a channel's own ``retention_days`` and the
``trimmed_seq`` up to which retention has deleted its messages.

No new table and no new policy: members may not change either column (the channel guard of
0004 lets them take the next seq, and owners the title and topic, nothing else); moderators
set ``retention_days`` and the worker, as the service, moves ``trimmed_seq``.
"""

import django.core.validators
from django.db import migrations, models


def set_database_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Rows written in SQL (seeds/, imports) get 0, as the model's default gives Django's own.
    schema_editor.execute("ALTER TABLE chat_channel ALTER COLUMN trimmed_seq SET DEFAULT 0")


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0012_message_sender_override"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="retention_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text=(
                    "Empty: the site's CHAT_RETENTION_DAYS. 0: keep forever. "
                    "N: delete after N days."
                ),
                null=True,
                validators=[django.core.validators.MaxValueValidator(36500)],
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="trimmed_seq",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(set_database_default, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("trimmed_seq__gte", 0), ("trimmed_seq__lte", models.F("last_seq"))
                ),
                name="chat_channel_trimmed_seq",
            ),
        ),
    ]
