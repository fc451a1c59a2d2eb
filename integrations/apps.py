from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Bots, their API tokens, incoming and outgoing webhooks (docs/integrations.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"

    def ready(self) -> None:
        from datetime import timedelta

        from integrations import tasks
        from worker.registry import register_periodic

        # The outgoing webhooks' delivery log keeps CHAT_OUTGOING_WEBHOOK_LOG_DAYS days.
        register_periodic(tasks.prune_outgoing_deliveries, every=timedelta(hours=6))
