"""/api/users/: people, for the pickers of direct messages and members (docs/api.md,
"People")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as accounts_selectors
from accounts.roles import acting_user
from chat import events
from chat.api import common
from chat.api.serializers import AuthorSerializer, UserSearchQuerySerializer
from chat.exceptions import RateLimited
from chatsite import ratelimit
from chatsite.api_errors import error_responses


class UserSearchView(APIView):
    @extend_schema(
        tags=["users"],
        summary="Active people whose username or display name starts with q (at most 20)",
        operation_id="users_list",
        parameters=[UserSearchQuerySerializer],
        responses={200: AuthorSerializer(many=True), **error_responses(400, 401, 429)},
    )
    def get(self, request: Request) -> Response:
        query = common.validated(UserSearchQuerySerializer, request.query_params)
        wait = ratelimit.hit(ratelimit.USER_SEARCH, str(acting_user(request).pk))
        if wait is not None:
            raise RateLimited(f"Too many searches; try again in {wait} s.", retry_after=wait)
        users = accounts_selectors.user_search(query=query.get("q"), limit=query["limit"])
        return Response([events.author_data(user) for user in users])
