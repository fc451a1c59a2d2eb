"""/api/chat/: channels, members, read markers and messages (docs/api.md).

Thin views: each parses its input with a serializer, calls one service (writes) or selector
(reads) and serializes the result. Domain errors from the services travel up to
``chatsite.api_errors.exception_handler``, which gives them the API's one error shape.

One module per resource (``channels``, ``messages``); ``common`` holds the helpers and the
schema extensions they share, ``serializers`` the request and response shapes.
"""

from chat.api.channels import (
    ChannelDetailView,
    ChannelJoinView,
    ChannelLeaveView,
    ChannelListView,
    ChannelMembershipView,
    ChannelMembersView,
    ChannelMemberView,
    ChannelReadView,
)
from chat.api.dms import DirectMessageListView
from chat.api.messages import MessageDetailView, MessageListView
from chat.api.reactions import PreviewView, ReactionDetailView, ReactionListView
from chat.api.search import SearchView
from chat.api.users import UserSearchView

__all__ = [
    "ChannelDetailView",
    "ChannelJoinView",
    "ChannelLeaveView",
    "ChannelListView",
    "ChannelMemberView",
    "ChannelMembersView",
    "ChannelMembershipView",
    "ChannelReadView",
    "DirectMessageListView",
    "MessageDetailView",
    "MessageListView",
    "PreviewView",
    "ReactionDetailView",
    "ReactionListView",
    "SearchView",
    "UserSearchView",
]
