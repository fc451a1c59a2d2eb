from django.contrib import admin
from django.urls import include, path

from chatsite import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("chatsite.api_urls")),
    path("", include("web.urls")),
]
