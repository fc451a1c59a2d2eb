"""Bot accounts (docs/integrations.md): ``accounts_user.is_bot``. The user table's access rules
are unchanged; a bot is a user like any other to row-level security."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="is_bot",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
    ]
