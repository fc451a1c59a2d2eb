"""Every write in chat: check, do, notify.

Each function validates its input, checks the actor's rights, writes inside one transaction,
takes the channel's next seq for each change (``base.next_seq``), and queues the event with
``chat.events`` to leave on commit. The REST views, the WebSocket consumer and the admin all
call these functions, so there is one validation, one permission check and one broadcast.

One module per concern: ``messages`` (post, edit, delete, replies), ``reactions``,
``channels`` (channels, members, read markers), ``dms`` (direct messages), ``moderation``
(the moderators' actions); ``base`` holds what they share.
Callers use the names re-exported here (``services.message_create``).
"""

from chat.services.channels import (
    channel_create,
    channel_join,
    channel_leave,
    channel_mark_read,
    channel_member_add,
    channel_member_remove,
    channel_member_set_role,
    channel_update,
    membership_update,
)
from chat.services.dms import dm_open
from chat.services.messages import (
    message_create,
    message_delete,
    message_edit,
    message_preview,
    messages_render_missing,
)
from chat.services.moderation import (
    channel_archive,
    channel_unarchive,
    message_restore,
    message_tombstone_by_moderator,
)
from chat.services.reactions import reaction_add, reaction_remove

__all__ = [
    "channel_archive",
    "channel_create",
    "channel_join",
    "channel_leave",
    "channel_mark_read",
    "channel_member_add",
    "channel_member_remove",
    "channel_member_set_role",
    "channel_unarchive",
    "channel_update",
    "dm_open",
    "membership_update",
    "message_create",
    "message_delete",
    "message_edit",
    "message_preview",
    "message_restore",
    "message_tombstone_by_moderator",
    "messages_render_missing",
    "reaction_add",
    "reaction_remove",
]
