from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from datetime import timedelta

        from django.conf import settings

        from notifications import tasks
        from worker.registry import register_periodic

        # Email notifications (docs/operations.md, "Email notifications").
        register_periodic(
            tasks.send_email_notifications,
            every=timedelta(seconds=settings.CHAT_EMAIL_NOTIFY_INTERVAL),
        )
