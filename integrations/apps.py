from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Bots, their API tokens, and incoming webhooks (docs/integrations.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
