"""/api/accounts/export/: ask for an archive of your own data, follow it, download it
(docs/integrations.md, "Exporting your own data")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat.api import common
from chat.exceptions import NotFound
from chatsite.api_errors import error_responses
from exports import services
from exports.models import UserExport
from files.api import serve_stored

EXPORT_ID = OpenApiParameter("export_id", str, OpenApiParameter.PATH, description="The export.")


class UserExportSerializer(serializers.Serializer):
    """An export as its user sees it."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=UserExport.Status.choices)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the zip when ready.")
    download_url = serializers.CharField(
        allow_null=True, help_text="Where to fetch the zip, once it is ready."
    )


class UserExportView(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="Ask for an archive of your own data (built by the worker)",
        request=None,
        responses={202: UserExportSerializer, **error_responses(401, 429)},
    )
    def post(self, request: Request) -> Response:
        export = services.user_export_request(user=acting_user(request))
        return Response(services.user_export_data(export), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=["accounts"],
        summary="Your newest export that has not expired",
        operation_id="accounts_export_latest",
        responses={200: UserExportSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request) -> Response:
        export = services.user_export_latest(user=acting_user(request))
        if export is None:
            raise NotFound("You have no export.")
        return Response(services.user_export_data(export))


class UserExportDetailView(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="One of your exports: its status, and its download URL when ready",
        parameters=[EXPORT_ID],
        responses={200: UserExportSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, export_id: str) -> Response:
        export_uuid = common.path_uuid(export_id, what="Export")
        export = services.user_export_get(user=acting_user(request), export_id=export_uuid)
        return Response(services.user_export_data(export))


class UserExportDownloadView(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="The zip of one of your ready exports",
        parameters=[EXPORT_ID],
        responses={
            (200, "application/zip"): OpenApiResponse(description="The archive"),
            302: OpenApiResponse(description="To a short-lived URL of the bucket (S3)"),
            **error_responses(401, 404),
        },
    )
    def get(self, request: Request, export_id: str) -> Any:
        export_uuid = common.path_uuid(export_id, what="Export")
        export = services.user_export_download(user=acting_user(request), export_id=export_uuid)
        name = f"chatsite-export-{export.created_at:%Y-%m-%d}.zip"
        return serve_stored(
            key=export.storage_key, content_type="application/zip", inline=False, name=name
        )
