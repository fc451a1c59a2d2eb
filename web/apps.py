from django.apps import AppConfig


class WebConfig(AppConfig):
    """The server-rendered pages: sign-up and log-in, the channel list, the room."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
