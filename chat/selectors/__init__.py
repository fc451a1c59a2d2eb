"""Reads that need care: visibility, unread counts and keyset pagination on seq.

One module per concern: ``channels`` (visibility, lists, members), ``messages`` (history,
changes since a seq); ``base`` holds id parsing and page sizes. Callers use the names
re-exported here (``selectors.channel_get``).
"""

from chat.selectors.base import (
    DEFAULT_LIST_PAGE_SIZE,
    DEFAULT_PAGE_SIZE,
    MAX_LIST_PAGE_SIZE,
    MAX_PAGE_SIZE,
    as_uuid,
)
from chat.selectors.channels import (
    channel_get,
    channel_get_by_name,
    channel_get_with_membership,
    channel_ids_of_member,
    channel_last_seqs,
    channel_left_by,
    channel_list,
    channel_list_page,
    channel_members,
    channel_members_page,
    channel_shown_to,
    channels_visible_to,
    co_member_ids,
    member_channels_and_co_members,
    membership_get,
    socket_rights,
)
from chat.selectors.dms import (
    attach_dm_members,
    conversation_title,
    dm_get_by_key,
    dm_key,
    dm_members_of,
    dm_title,
)
from chat.selectors.messages import (
    changes_since,
    message_get,
    message_get_any,
    message_page,
    thread_page,
)
from chat.selectors.reports import report_snapshot, reportable_message
from chat.selectors.search import SearchHit, message_search

__all__ = [
    "DEFAULT_LIST_PAGE_SIZE",
    "DEFAULT_PAGE_SIZE",
    "MAX_LIST_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SearchHit",
    "as_uuid",
    "attach_dm_members",
    "changes_since",
    "channel_get",
    "channel_get_by_name",
    "channel_get_with_membership",
    "channel_ids_of_member",
    "channel_last_seqs",
    "channel_left_by",
    "channel_list",
    "channel_list_page",
    "channel_members",
    "channel_members_page",
    "channel_shown_to",
    "channels_visible_to",
    "co_member_ids",
    "conversation_title",
    "dm_get_by_key",
    "dm_key",
    "dm_members_of",
    "dm_title",
    "member_channels_and_co_members",
    "membership_get",
    "message_get",
    "message_get_any",
    "message_page",
    "message_search",
    "report_snapshot",
    "reportable_message",
    "socket_rights",
    "thread_page",
]
