"""/api/chat/messages/{id}/report/ (docs/api.md, "Reports")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import services
from chat.api import common
from chat.api.serializers import ReportCreateSerializer, ReportSerializer
from chatsite.api_errors import error_responses


class MessageReportView(APIView):
    @extend_schema(
        tags=["reports"],
        summary="Report a message to the moderators; 200 with your open report if you had one",
        parameters=[common.MESSAGE_ID],
        request=ReportCreateSerializer,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **error_responses(400, 401, 404, 429),
        },
    )
    def post(self, request: Request, message_id: str) -> Response:
        message_uuid = common.path_uuid(message_id, what="Message")
        data = common.validated(ReportCreateSerializer, request.data)
        report, created = services.report_create(
            user=acting_user(request),
            message_id=message_uuid,
            reason=data["reason"],
            detail=data["detail"],
        )
        return common.created_or_found(ReportSerializer(report).data, created=created)
