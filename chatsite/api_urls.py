"""Everything under /api/: auth, chat, the OpenAPI schema and its two viewers."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from chatsite.api_errors import api_not_found

urlpatterns = [
    path("auth/", include("accounts.api_urls")),
    path("chat/", include("chat.api_urls")),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^redoc/?$", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"", api_not_found),
]
