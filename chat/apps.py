from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self) -> None:
        from chat import tasks
        from worker.registry import register_periodic

        register_periodic(
            tasks.apply_retention, every=timedelta(seconds=settings.CHAT_RETENTION_INTERVAL)
        )
