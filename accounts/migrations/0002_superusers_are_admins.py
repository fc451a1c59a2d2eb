"""Superusers take the admin role (User.save keeps it so from now on), and so staff status."""

from django.db import migrations


def superusers_are_admins(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(is_superuser=True).exclude(role="admin").update(role="admin", is_staff=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(superusers_are_admins, migrations.RunPython.noop)]
