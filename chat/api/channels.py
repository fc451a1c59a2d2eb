"""/api/chat/channels/: channels, their members and read markers (docs/api.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import acting_user
from chat import selectors, services
from chat.api import common
from chat.api.serializers import (
    ChannelCreateSerializer,
    ChannelDetailSerializer,
    ChannelListQuerySerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    ListPageQuerySerializer,
    MemberAddSerializer,
    MemberSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    ReadMarkerSerializer,
)
from chat.exceptions import NotFound
from chatsite.api_errors import error_responses


class ChannelListView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Public channels and the private ones the user belongs to, a page at a time",
        operation_id="chat_channels_list",
        parameters=[ChannelListQuerySerializer, common.LINK_HEADER],
        responses={200: ChannelSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        page = common.validated(ChannelListQuerySerializer, request.query_params)
        user = acting_user(request)
        channels, next_cursor = selectors.channel_list_page(user=user, **page)
        data = ChannelSerializer(channels, many=True, context=common.viewer(user)).data
        kind = {"kind": page["kind"]} if "kind" in page else None
        return common.paged(request, data, limit=page["limit"], next_cursor=next_cursor, query=kind)

    @extend_schema(
        tags=["channels"],
        summary="Create a channel; its creator becomes its owner",
        request=ChannelCreateSerializer,
        responses={201: ChannelDetailSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request: Request) -> Response:
        data = common.validated(ChannelCreateSerializer, request.data)
        channel = services.channel_create(user=acting_user(request), **data)
        return common.channel_detail(request, str(channel.pk), status_code=status.HTTP_201_CREATED)


class ChannelDetailView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="One channel",
        parameters=[common.CHANNEL_ID],
        responses={200: ChannelDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        return common.channel_detail(request, channel_id)

    @extend_schema(
        tags=["channels"],
        summary="Change the title or topic (owners and moderators); channel.updated follows",
        parameters=[common.CHANNEL_ID],
        request=ChannelUpdateSerializer,
        responses={200: ChannelDetailSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def patch(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        data = common.validated(ChannelUpdateSerializer, request.data)
        services.channel_update(actor=acting_user(request), channel_id=channel_uuid, **data)
        return common.channel_detail(request, channel_id)


class ChannelJoinView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Join a public channel",
        request=None,
        parameters=[common.CHANNEL_ID],
        responses={200: ChannelDetailSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        services.channel_join(user=acting_user(request), channel_id=channel_uuid)
        return common.channel_detail(request, channel_id)


class ChannelLeaveView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Leave a channel",
        request=None,
        parameters=[common.CHANNEL_ID],
        responses={204: None, **error_responses(401, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        services.channel_leave(user=acting_user(request), channel_id=channel_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelMembersView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="The members of a channel, earliest first, a page at a time",
        operation_id="chat_channels_members_list",
        parameters=[common.CHANNEL_ID, ListPageQuerySerializer, common.LINK_HEADER],
        responses={200: MemberSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        page = common.list_page(request)
        members, next_cursor = selectors.channel_members_page(
            user=acting_user(request), channel_id=channel_uuid, **page
        )
        data = MemberSerializer(members, many=True).data
        return common.paged(request, data, limit=page["limit"], next_cursor=next_cursor)

    @extend_schema(
        tags=["channels"],
        summary="Add a user (owners and moderators); 200 if they were in already",
        parameters=[common.CHANNEL_ID],
        request=MemberAddSerializer,
        responses={
            201: MemberSerializer,
            200: MemberSerializer,
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        data = common.validated(MemberAddSerializer, request.data)
        membership, created = services.channel_member_add(
            actor=acting_user(request),
            channel_id=channel_uuid,
            user=data["user"],
        )
        return common.created_or_found(MemberSerializer(membership).data, created=created)


class ChannelReadView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Move the read marker forward to seq",
        parameters=[common.CHANNEL_ID],
        request=ReadMarkerSerializer,
        responses={204: None, **error_responses(400, 401, 404)},
    )
    def post(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        data = common.validated(ReadMarkerSerializer, request.data)
        services.channel_mark_read(
            user=acting_user(request), channel_id=channel_uuid, seq=data["seq"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelMembershipView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Change how you are notified in a channel you belong to (notify, muted)",
        parameters=[common.CHANNEL_ID],
        request=MembershipUpdateSerializer,
        responses={200: MembershipSerializer, **error_responses(400, 401, 404, 429)},
    )
    def patch(self, request: Request, channel_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        data = common.validated(MembershipUpdateSerializer, request.data)
        membership = services.membership_update(
            user=acting_user(request), channel_id=channel_uuid, **data
        )
        return Response(MembershipSerializer(membership).data)


class ChannelMemberView(APIView):
    @extend_schema(
        tags=["channels"],
        summary="Take a member out (owners and moderators; anyone may take themselves out)",
        parameters=[common.CHANNEL_ID, common.USER_ID],
        request=None,
        responses={204: None, **error_responses(400, 401, 403, 404, 429)},
    )
    def delete(self, request: Request, channel_id: str, user_id: str) -> Response:
        channel_uuid = common.path_uuid(channel_id, what="Channel")
        user = common.path_user(user_id)
        removed = services.channel_member_remove(
            actor=acting_user(request), channel_id=channel_uuid, user=user
        )
        if not removed:
            raise NotFound("Not a member of this channel.")
        return Response(status=status.HTTP_204_NO_CONTENT)
