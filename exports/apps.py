from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Exports: the operator's ``manage.py export`` and each user's archive of their own data
    (docs/integrations.md, "Exporting")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "exports"
