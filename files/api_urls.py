"""/api/chat/uploads/ routes. Each path answers with and without its trailing slash."""

from django.urls import re_path

from files import api

_ID = r"(?P<upload_id>[^/]+)"

urlpatterns = [
    re_path(r"^uploads/?$", api.UploadView.as_view(), name="api-uploads"),
    re_path(rf"^uploads/{_ID}/?$", api.UploadDetailView.as_view(), name="api-upload"),
    re_path(
        rf"^uploads/{_ID}/content/?$", api.UploadContentView.as_view(), name="api-upload-content"
    ),
    re_path(
        rf"^uploads/{_ID}/thumbnail/?$",
        api.UploadThumbnailView.as_view(),
        name="api-upload-thumbnail",
    ),
]
