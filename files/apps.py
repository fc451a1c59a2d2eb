from django.apps import AppConfig


class FilesConfig(AppConfig):
    """Attachments: uploads, their storage, thumbnails and permission-checked downloads
    (docs/architecture.md, "Attachments")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "files"
