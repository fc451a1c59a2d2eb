"""Everything under /api/: auth, chat, the OpenAPI schema and its two viewers."""

from django.db import transaction
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from chat.api import UserSearchView
from chatsite.api_errors import api_not_found
from chatsite.api_index import ApiIndexView

# The schema and its viewers read no data: no transaction (ATOMIC_REQUESTS) for them.
schema_view = transaction.non_atomic_requests(SpectacularAPIView.as_view())
# The split view serves Swagger UI's start-up script as a file: the CSP allows no inline script.
swagger_view = transaction.non_atomic_requests(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)
redoc_view = transaction.non_atomic_requests(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")
)

urlpatterns = [
    path("", ApiIndexView.as_view(), name="api-index"),
    path("auth/", include("accounts.api_urls")),
    path("chat/", include("files.api_urls")),
    path("chat/", include("chat.api_urls")),
    path("notifications/", include("notifications.api_urls")),
    path("accounts/", include("exports.api_urls")),
    path("", include("integrations.api_urls")),
    re_path(r"^users/?$", UserSearchView.as_view(), name="api-users"),
    re_path(r"^schema/?$", schema_view, name="api-schema"),
    re_path(r"^docs/?$", swagger_view, name="api-docs"),
    re_path(r"^redoc/?$", redoc_view, name="api-redoc"),
    re_path(r"", api_not_found),
]
