"""/api/chat/search/: messages that match a query, best first (docs/api.md "Search")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import events, selectors
from chat.api import common
from chat.api.serializers import SearchPageSerializer, SearchQuerySerializer
from chatsite.api_errors import error_responses


class SearchView(APIView):
    @extend_schema(
        tags=["messages"],
        summary="Search the messages one may read; relevance first, then newest",
        operation_id="chat_search",
        parameters=[SearchQuerySerializer],
        responses={200: SearchPageSerializer, **error_responses(400, 401, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        query = common.validated(SearchQuerySerializer, request.query_params)
        hits, next_cursor = selectors.message_search(user=acting_user(request), **query)
        results = [
            {
                "message": events.message_data(hit.message),
                "channel": {"id": str(hit.message.channel_id), "name": hit.message.channel.name},
                "headline": hit.headline,
            }
            for hit in hits
        ]
        return Response({"results": results, "next": next_cursor})
