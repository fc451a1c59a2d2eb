"""/api/notifications/ (docs/api.md, "Push subscriptions", "Notification settings")."""

from django.urls import re_path

from notifications import delivery_api

urlpatterns = [
    re_path(
        r"^push-subscriptions/?$",
        delivery_api.PushSubscriptionListView.as_view(),
        name="api-push-subscriptions",
    ),
    re_path(
        r"^push-subscriptions/(?P<subscription_id>[^/]+)/?$",
        delivery_api.PushSubscriptionDetailView.as_view(),
        name="api-push-subscription",
    ),
    re_path(
        r"^settings/?$",
        delivery_api.NotificationSettingsView.as_view(),
        name="api-notification-settings",
    ),
]
