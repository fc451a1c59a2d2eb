from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from accounts import roles, signals  # noqa: F401 - connects the receivers
        from chatsite import rls

        # The database acts with the moderator role for exactly the users the app lets
        # moderate: one rule (accounts.roles), handed to the infrastructure that needs it.
        rls.register_moderator_rule(roles.is_moderator)
