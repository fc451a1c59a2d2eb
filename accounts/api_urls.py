"""/api/auth/ routes. Each path answers with and without its trailing slash (no redirect)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from accounts import api
from chatsite.ratelimit import auth_rate_limited

# The browsable API's session login and logout (DRF's rest_framework.urls), with the login
# spending the per-address CHAT_AUTH_RATE budget like every other login door.
session_urls = (
    [
        path(
            "login/",
            auth_rate_limited(
                auth_views.LoginView.as_view(template_name="rest_framework/login.html")
            ),
            name="login",
        ),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

urlpatterns = [
    re_path(r"^token/?$", api.TokenObtainView.as_view(), name="api-token"),
    re_path(r"^token/refresh/?$", api.TokenRefreshView.as_view(), name="api-token-refresh"),
    re_path(r"^register/?$", api.RegisterView.as_view(), name="api-register"),
    re_path(r"^me/?$", api.MeView.as_view(), name="api-me"),
    re_path(r"^password/?$", api.PasswordChangeView.as_view(), name="api-password"),
    re_path(
        r"^logout-everywhere/?$", api.SignOutEverywhereView.as_view(), name="api-logout-everywhere"
    ),
    re_path(r"^invites/?$", api.InvitationCreateView.as_view(), name="api-invites"),
    # Session login and logout for the browsable API.
    re_path(r"^session/", include(session_urls, namespace="rest_framework")),
]
