"""Channels, memberships and messages (docs/architecture.md).

Every change in a channel takes the channel's next ``seq`` (see ``chat.services``): a create
stores it as both ``seq`` and ``change_seq``, an edit or a delete as ``change_seq``. A client
that remembers the last seq it saw can ask for every change after it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import JSONField, Value
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils import timezone

from chat.validators import MAX_CONTENT_LENGTH, validate_channel_name, validate_message_content

REPORT_DETAIL_MAX_LENGTH = 500


class Channel(models.Model):
    """A conversation: a channel people join, or a direct message between fixed members.

    A direct message (``kind`` ``dm``) is private, has 2-9 members fixed at creation, and is
    unique per member set: ``dm_key`` holds its members' ids in ascending order, comma
    separated, under a unique constraint, so two people racing to open the same conversation
    get one row. Its ``name`` is ``dm.<hex of its id>``, which no channel name can be
    (docs/architecture.md, "Direct messages").
    """

    class Kind(models.TextChoices):
        CHANNEL = "channel", "Channel"
        DM = "dm", "Direct message"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=80, unique=True, validators=[validate_channel_name])
    title = models.CharField(max_length=200, blank=True)
    topic = models.CharField(max_length=500, blank=True)
    is_private = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=0, editable=False)
    # Rows written in SQL (seeds/, imports) are channels unless they say so: migration 0004
    # gives the column a database default too. (Not ``db_default``: Django would then read the
    # column back with RETURNING, which row-level security refuses for a private channel
    # before its creator's membership exists.)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHANNEL)
    # NULL, not '', for channels: the unique constraint holds among direct messages only.
    dm_key = models.CharField(max_length=200, null=True, blank=True, editable=False)  # noqa: DJ001
    # Retention (docs/integrations.md, "Retention"): NULL follows CHAT_RETENTION_DAYS, 0 keeps
    # everything, N deletes messages older than N days. Moderators set it.
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(36500)],
        help_text="Empty: the site's CHAT_RETENTION_DAYS. 0: keep forever. N: delete after N days.",
    )
    # The highest seq retention has removed: every message with a seq up to it is gone
    # (except thread roots kept for their newer replies), so a client resuming from an older
    # seq is told its copy of that history is stale (``subscribed``'s ``trimmed_seq``).
    # Its database default (migration 0013) is set in SQL, for the reason given for ``kind``.
    trimmed_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["channel", "dm"]), name="chat_channel_kind"
            ),
            # A direct message is private and has its member key; a channel has none.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        models.Q(kind="channel", dm_key__isnull=True),
                        ~models.Q(name__startswith="dm."),
                    )
                    | models.Q(
                        kind="dm", dm_key__isnull=False, is_private=True, name__startswith="dm."
                    )
                ),
                name="chat_channel_dm_shape",
            ),
            models.UniqueConstraint(fields=["dm_key"], name="chat_channel_dm_key_unique"),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("name"), 1), name="chat_channel_name_len"
            ),
            models.CheckConstraint(
                condition=models.Q(last_seq__gte=0), name="chat_channel_last_seq_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(trimmed_seq__gte=0, trimmed_seq__lte=models.F("last_seq")),
                name="chat_channel_trimmed_seq",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_dm(self) -> bool:
        return self.kind == self.Kind.DM


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    class Notify(models.TextChoices):
        """Which new messages of the channel alert the member (docs/api.md, "Mentions")."""

        ALL = "all", "Every message"
        MENTIONS = "mentions", "Mentions and direct messages"
        NONE = "none", "Nothing"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.BigIntegerField(default=0)
    notify = models.CharField(
        max_length=16, choices=Notify.choices, default=Notify.MENTIONS, db_default="mentions"
    )
    muted = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "user"], name="chat_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "member"]), name="chat_membership_role"
            ),
            models.CheckConstraint(
                condition=models.Q(notify__in=["all", "mentions", "none"]),
                name="chat_membership_notify",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.channel} ({self.role})"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    content = models.TextField(blank=True, validators=[validate_message_content])
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    seq = models.BigIntegerField(editable=False)
    change_seq = models.BigIntegerField(editable=False)
    client_id = models.UUIDField(null=True, blank=True)
    # The HTML every client shows, rendered from content at create and edit (chat/rendering.py).
    rendered = models.TextField(blank=True, default="", db_default="")
    # Threads: a reply names its top-level parent; the parent counts its live replies.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    reply_count = models.IntegerField(default=0, db_default=0, editable=False)
    last_reply_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Reactions as clients see them, [{emoji, count, user_ids}], kept by the reaction services
    # from chat_reaction (the truth) in the transaction that changes it.
    reactions = models.JSONField(
        default=list, db_default=Value([], JSONField()), blank=True, editable=False
    )
    # A /me message: shown as an action of its author ("Alice waves"), docs/api.md.
    action = models.BooleanField(default=False, db_default=False, editable=False)
    # Files as clients see them, [{id, name, size, content_type, url, thumbnail_url, width,
    # height}], written once when the message is posted with attachment_ids (files/services.py).
    attachments = models.JSONField(
        default=list, db_default=Value([], JSONField()), blank=True, editable=False
    )
    # What an incoming webhook's caller asked to be shown as: a display name and an emoji
    # shortcode instead of the bot's own (docs/integrations.md). Empty for everyone else.
    sender_name = models.CharField(max_length=80, blank=True, default="", db_default="")
    sender_icon = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["channel", "seq"]
        indexes = [
            models.Index(
                fields=["parent", "seq"],
                name="chat_message_thread",
                condition=models.Q(parent__isnull=False),
            ),
        ]
        constraints = [
            # A live message holds 1-4000 characters (or none beside files); a tombstone ''.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        GreaterThanOrEqual(Length("content"), 1),
                        LessThanOrEqual(Length("content"), MAX_CONTENT_LENGTH),
                        deleted_at__isnull=True,
                    )
                    | models.Q(deleted_at__isnull=False, content="")
                    # A live message may be files alone.
                    | (models.Q(deleted_at__isnull=True, content="") & ~models.Q(attachments=[]))
                ),
                name="chat_message_content_len",
            ),
            # The unique indexes also serve history (seq) and sync (change_seq) reads.
            models.UniqueConstraint(fields=["channel", "seq"], name="chat_message_channel_seq"),
            models.UniqueConstraint(
                fields=["channel", "change_seq"], name="chat_message_channel_change_seq"
            ),
            models.UniqueConstraint(fields=["user", "client_id"], name="chat_message_client_id"),
        ]

    def __str__(self) -> str:
        return f"message {self.seq} in {self.channel}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(models.Model):
    """One user's emoji on one message: one per (message, user, emoji)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reaction_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="chat_reaction_unique"
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("emoji"), 1), name="chat_reaction_emoji_len"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class MessageRevision(models.Model):
    """A message's content before one of its changes, kept for moderators.

    Edits keep the previous text (the edit history shown in the admin); a moderator's
    tombstone keeps the removed text so that the tombstone can be restored. When authors
    delete their own message, its revisions go too: a deletion by the author is final.
    """

    class Kind(models.TextChoices):
        EDIT = "edit", "Edited by the author"
        TOMBSTONE = "tombstone", "Tombstoned by a moderator"
        RESTORE = "restore", "Restored by a moderator"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content = models.TextField(blank=True, help_text="The content before this change.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_seq = models.BigIntegerField(help_text="The channel seq that this change took.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "change_seq"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["edit", "tombstone", "restore"]),
                name="chat_messagerevision_kind",
            ),
        ]
        indexes = [models.Index(fields=["message", "change_seq"], name="chat_msgrev_message_seq")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (seq {self.change_seq})"


class AuditEntry(LogEntry):
    """Django's admin log, shown to moderators as the audit trail of moderation."""

    class Meta:
        proxy = True
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"


class Report(models.Model):
    """A member's report of a message to the moderators (docs/moderation.md, "Reports").

    Moderators cannot read direct messages, so the report keeps what its reporter saw when
    reporting: the message and a little context around it (``snapshot``), and the channel's
    label and kind. ``message``, ``channel`` and ``author`` link the live rows for the
    actions. One open report per reporter and message; a report is closed by a moderator's
    action, which is recorded with who and when.
    """

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSE = "abuse", "Abusive or offensive"
        HARASSMENT = "harassment", "Harassment"
        OTHER = "other", "Something else"

    class Resolution(models.TextChoices):
        TOMBSTONED = "tombstoned", "Message tombstoned"
        DISMISSED = "dismissed", "Dismissed"
        AUTHOR_DEACTIVATED = "author_deactivated", "Author deactivated"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    # Not joined in the moderators' queue: row-level security hides direct messages' channels
    # and messages from them, and the report would vanish with the join.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    channel_kind = models.CharField(max_length=16, choices=Channel.Kind.choices)
    channel_label = models.CharField(max_length=200)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_received"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=REPORT_DETAIL_MAX_LENGTH, blank=True, default="")
    snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(  # noqa: DJ001
        max_length=32, choices=Resolution.choices, null=True, blank=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["-created_at"],
                name="chat_report_open",
                condition=models.Q(resolved_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "reporter"],
                condition=models.Q(resolved_at__isnull=True),
                name="chat_report_one_open",
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=["spam", "abuse", "harassment", "other"]),
                name="chat_report_reason",
            ),
            # Open: no resolution, nobody resolved it; closed: all three set.
            models.CheckConstraint(
                condition=(
                    models.Q(resolution__isnull=True, resolved_at__isnull=True)
                    | models.Q(
                        resolution__in=["tombstoned", "dismissed", "author_deactivated"],
                        resolved_at__isnull=False,
                    )
                ),
                name="chat_report_resolution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} report in {self.channel_label}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
