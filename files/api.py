"""/api/chat/uploads/: upload a file, fetch or withdraw one (docs/api.md, "Attachments").

A download answers only those who may read the message that carries the file (404 for
anyone else, whatever URL they hold), then hands the bytes over in one of three ways: nginx
sends them (X-Accel-Redirect, CHAT_UPLOAD_ACCEL_PREFIX), a redirect to a presigned URL of the
bucket (S3), or Django streams them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat.api import common
from chat.api.serializers import AttachmentShapeSerializer
from chat.exceptions import NotFound, TooLarge
from chatsite.api_errors import error_responses
from files import images, services, sniffing, storage, upload_handlers
from files.models import Upload

UPLOAD_ID = OpenApiParameter("upload_id", str, OpenApiParameter.PATH, description="The upload.")

# Bytes that a browser shows need its own rules: none may run (no script, no plug-in, no
# form), and the type stays the one given.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'none'",
    "Cache-Control": "private, max-age=300",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file, as the multipart field 'file'.")


class UploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["uploads"],
        summary="Upload a file to attach to a message (multipart, field 'file')",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={201: AttachmentShapeSerializer, **error_responses(400, 401, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        file = request.FILES.get("file")
        if upload_handlers.refused(request._request):
            limit = settings.CHAT_UPLOAD_MAX_BYTES
            raise TooLarge(
                f"The file is larger than {limit} bytes.",
                fields={"file": [f"At most {limit} bytes."]},
            )
        upload = services.upload_create(user=acting_user(request), file=file)
        return Response(services.upload_data(upload), status=status.HTTP_201_CREATED)


class UploadDetailView(APIView):
    @extend_schema(
        tags=["uploads"],
        summary="Withdraw your upload before a message carries it",
        parameters=[UPLOAD_ID],
        responses={204: None, **error_responses(401, 404)},
    )
    def delete(self, request: Request, upload_id: str) -> Response:
        upload_uuid = common.path_uuid(upload_id, what="Upload")
        services.upload_delete(user=acting_user(request), upload_id=upload_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)


def serve_stored(*, key: str, content_type: str, inline: bool, name: str) -> HttpResponseBase:
    """The bytes under ``key``, by the fastest way the deployment offers."""
    disposition = content_disposition_header(not inline, name) or "attachment"
    response: HttpResponseBase
    if not storage.is_local():
        # The bucket serves them; the presigned URL carries the type and disposition.
        url = storage.presigned_url(
            key,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
            },
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "no-store"
        return response
    accel_prefix = settings.CHAT_UPLOAD_ACCEL_PREFIX
    if accel_prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel_prefix.rstrip("/") + "/" + quote(key)
    else:
        response = FileResponse(storage.open_file(key), content_type=content_type)
    response["Content-Disposition"] = disposition
    for header, value in DOWNLOAD_HEADERS.items():
        response[header] = value
    return response


class UploadContentView(APIView):
    @extend_schema(
        tags=["uploads"],
        summary="The file's bytes, for those who may read its message (images inline, "
        "everything else as a download)",
        parameters=[UPLOAD_ID],
        responses={
            (200, "*/*"): OpenApiResponse(description="The bytes"),
            302: OpenApiResponse(description="To a short-lived URL of the bucket (S3)"),
            **error_responses(401, 404, 429),
        },
    )
    def get(self, request: Request, upload_id: str) -> Any:
        upload_uuid = common.path_uuid(upload_id, what="File")
        upload = services.upload_get(user=acting_user(request), upload_id=upload_uuid)
        inline = upload.content_type in sniffing.INLINE_IMAGE_TYPES
        return serve_stored(
            key=upload.storage_key,
            # Anything a browser could run goes out as plain bytes to save.
            content_type=upload.content_type if inline else _download_type(upload),
            inline=inline,
            name=upload.name,
        )


class UploadThumbnailView(APIView):
    @extend_schema(
        tags=["uploads"],
        summary="An image's WebP preview, for those who may read its message",
        parameters=[UPLOAD_ID],
        responses={
            (200, "image/webp"): OpenApiResponse(description="The preview"),
            302: OpenApiResponse(description="To a short-lived URL of the bucket (S3)"),
            **error_responses(401, 404, 429),
        },
    )
    def get(self, request: Request, upload_id: str) -> Any:
        upload_uuid = common.path_uuid(upload_id, what="File")
        upload = services.upload_get(user=acting_user(request), upload_id=upload_uuid)
        if not upload.thumbnail_key:
            raise NotFound("This file has no preview.")
        stem = upload.name.rsplit(".", 1)[0] or "preview"
        return serve_stored(
            key=upload.thumbnail_key,
            content_type=images.THUMBNAIL_CONTENT_TYPE,
            inline=True,
            name=f"{stem}.webp",
        )


def _download_type(upload: Upload) -> str:
    """Text and harmless binary keep their type; markup and scripts become opaque bytes."""
    if upload.content_type in ("text/html", "image/svg+xml", "application/xml") or (
        upload.content_type.startswith("application/x-")
    ):
        return "application/octet-stream"
    return upload.content_type
