from django.contrib import admin
from django.urls import include, path, re_path

from chatsite import health, metrics
from chatsite.api_index import ApiIndexView
from chatsite.ratelimit import auth_rate_limited
from notifications import views as notification_views

# Under /api/ these answer in the API's error shape (docs/api.md); elsewhere Django's pages.
handler400 = "chatsite.api_errors.bad_request"
handler500 = "chatsite.api_errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # The admin's login spends the per-address CHAT_AUTH_RATE budget like every login door.
    path("admin/login/", auth_rate_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    re_path(r"^api$", ApiIndexView.as_view()),  # /api answers like /api/ (no redirect)
    path("api/", include("chatsite.api_urls")),
    # Web Push's service worker, at the root so that its scope is the whole site.
    path("sw.js", notification_views.service_worker, name="service-worker"),
    path(
        "accounts/notifications/",
        notification_views.notification_settings,
        name="notifications-settings",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        notification_views.unsubscribe,
        name="notifications-unsubscribe",
    ),
    path("", include("web.urls")),
    # The rest of the account pages (email, password, verification, single sign-on): allauth's,
    # after the site's own login, sign-up and log-out at the same paths (web.urls).
    path("accounts/", include("allauth.urls")),
]
