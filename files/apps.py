from datetime import timedelta

from django.apps import AppConfig


class FilesConfig(AppConfig):
    """Attachments: uploads, their storage, thumbnails and permission-checked downloads
    (docs/architecture.md, "Attachments")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "files"

    def ready(self) -> None:
        from files import tasks
        from worker.registry import register_periodic

        # Hourly: an upload goes between CHAT_UPLOAD_STALE_HOURS and an hour after that.
        register_periodic(tasks.remove_stale_uploads, every=timedelta(hours=1))
