from django.contrib import admin
from django.urls import include, path

from chatsite import health

# Under /api/ these answer in the API's error shape (docs/api.md); elsewhere Django's pages.
handler400 = "chatsite.api_errors.bad_request"
handler500 = "chatsite.api_errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("chatsite.api_urls")),
    path("", include("web.urls")),
]
