from datetime import timedelta

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Exports: the operator's ``manage.py export`` and each user's archive of their own data
    (docs/integrations.md, "Exporting")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "exports"

    def ready(self) -> None:
        from exports import tasks
        from worker.registry import register_periodic

        register_periodic(tasks.remove_expired_user_exports, every=timedelta(hours=1))
