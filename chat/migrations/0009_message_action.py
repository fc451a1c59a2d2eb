"""``chat_message.action``: a ``/me`` message, shown as an action of its author (docs/api.md,
"Slash commands"). Set when the message is posted; existing messages are not actions.

Row-level security is unchanged: the column is written at insert, under the policies of
0003_row_level_security and the guard of 0005_rich_messages.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0008_reports"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="action",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
    ]
