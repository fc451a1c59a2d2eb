from django.contrib import admin
from django.urls import include, path, re_path

from chatsite import health
from chatsite.api_index import ApiIndexView
from chatsite.ratelimit import auth_rate_limited

# Under /api/ these answer in the API's error shape (docs/api.md); elsewhere Django's pages.
handler400 = "chatsite.api_errors.bad_request"
handler500 = "chatsite.api_errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The admin's login spends the per-address CHAT_AUTH_RATE budget like every login door.
    path("admin/login/", auth_rate_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    re_path(r"^api$", ApiIndexView.as_view()),  # /api answers like /api/ (no redirect)
    path("api/", include("chatsite.api_urls")),
    path("", include("web.urls")),
]
