from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Exports: the operator's ``manage.py export`` (docs/integrations.md, "Exporting")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "exports"
