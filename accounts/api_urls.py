"""/api/auth/ routes. Each path answers with and without its trailing slash (no redirect)."""

from django.urls import include, re_path

from accounts import api

urlpatterns = [
    re_path(r"^token/?$", api.TokenObtainView.as_view(), name="api-token"),
    re_path(r"^token/refresh/?$", api.TokenRefreshView.as_view(), name="api-token-refresh"),
    re_path(r"^register/?$", api.RegisterView.as_view(), name="api-register"),
    re_path(r"^me/?$", api.MeView.as_view(), name="api-me"),
    # Session login and logout for the browsable API.
    re_path(r"^session/", include("rest_framework.urls", namespace="rest_framework")),
]
