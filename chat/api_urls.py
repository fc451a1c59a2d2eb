"""/api/chat/ routes. Each path answers with and without its trailing slash (no redirect)."""

from django.urls import re_path

from chat import api
from notifications.api import MentionListView

_ID = r"(?P<channel_id>[^/]+)"

urlpatterns = [
    re_path(r"^channels/?$", api.ChannelListView.as_view(), name="api-channels"),
    re_path(rf"^channels/{_ID}/?$", api.ChannelDetailView.as_view(), name="api-channel"),
    re_path(rf"^channels/{_ID}/join/?$", api.ChannelJoinView.as_view(), name="api-channel-join"),
    re_path(rf"^channels/{_ID}/leave/?$", api.ChannelLeaveView.as_view(), name="api-channel-leave"),
    re_path(
        rf"^channels/{_ID}/members/?$",
        api.ChannelMembersView.as_view(),
        name="api-channel-members",
    ),
    re_path(rf"^channels/{_ID}/read/?$", api.ChannelReadView.as_view(), name="api-channel-read"),
    re_path(
        rf"^channels/{_ID}/membership/?$",
        api.ChannelMembershipView.as_view(),
        name="api-channel-membership",
    ),
    re_path(
        rf"^channels/{_ID}/members/(?P<user_id>[^/]+)/?$",
        api.ChannelMemberView.as_view(),
        name="api-channel-member",
    ),
    re_path(r"^dms/?$", api.DirectMessageListView.as_view(), name="api-dms"),
    re_path(r"^messages/?$", api.MessageListView.as_view(), name="api-messages"),
    re_path(
        r"^messages/(?P<message_id>[^/]+)/?$", api.MessageDetailView.as_view(), name="api-message"
    ),
    re_path(r"^search/?$", api.SearchView.as_view(), name="api-search"),
    re_path(
        r"^messages/(?P<message_id>[^/]+)/reactions/?$",
        api.ReactionListView.as_view(),
        name="api-message-reactions",
    ),
    re_path(
        r"^messages/(?P<message_id>[^/]+)/reactions/(?P<emoji>[^/]+)/?$",
        api.ReactionDetailView.as_view(),
        name="api-message-reaction",
    ),
    re_path(r"^preview/?$", api.PreviewView.as_view(), name="api-preview"),
    re_path(r"^mentions/?$", MentionListView.as_view(), name="api-mentions"),
]
