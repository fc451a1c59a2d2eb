"""/api/accounts/export/ routes. Each path answers with and without its trailing slash."""

from django.urls import re_path

from exports import api

_ID = r"(?P<export_id>[^/]+)"

urlpatterns = [
    re_path(r"^export/?$", api.UserExportView.as_view(), name="api-account-export"),
    re_path(
        rf"^export/{_ID}/?$", api.UserExportDetailView.as_view(), name="api-account-export-detail"
    ),
    re_path(
        rf"^export/{_ID}/download/?$",
        api.UserExportDownloadView.as_view(),
        name="api-account-export-download",
    ),
]
