"""``manage.py import_slack``: a Slack export's people, public channels and history moved in
(docs/integrations.md, "Moving in from Slack").

The import writes as the service, straight to the tables, and keeps what the message
services keep: each channel's seq taken under its row lock, gapless and in time order;
``rendered`` from chat/rendering.py; the search index (its trigger); reply counts recounted
from the replies; the reaction summary from the reaction rows; attachments through
files.services. What it leaves out on purpose: events, mention rows and notifications, since
nobody should be called for years-old history.

Each channel is one transaction: a channel is imported whole or not at all, and a second run
finds every object it made in ``integrations_slackobject`` and adds only what is new.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from chat import rendering
from chat.exceptions import ChatError
from chat.models import Channel, Membership, Message, Reaction
from chat.services.reactions import MAX_DISTINCT
from chat.validators import MAX_CONTENT_LENGTH, content_problem
from chatsite import rls
from files import services as files_services
from files import storage
from files.models import Upload
from integrations.importers import mrkdwn
from integrations.importers.report import Progress, Summary
from integrations.importers.slack_export import Export, TooBig
from integrations.importers.slack_people import People, mapped
from integrations.importers.slack_values import (
    channel_name_base,
    emoji_for,
    nested,
    slack_time,
    text_of,
)
from integrations.models import SlackObject

Kind = SlackObject.Kind

# Subtypes imported as messages; every other subtype (joins, leaves, topic and name changes,
# pins, ...) is Slack's own notice and is skipped and counted.
MESSAGE_SUBTYPES = {None, "", "file_share", "thread_broadcast", "me_message", "bot_message"}
FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")
BATCH = 1000


@dataclass
class _Planned:
    """A message ready to insert, with what goes beside it."""

    message: Message
    key: str
    reactions: list[tuple[str, int]]
    uploads: list[Upload]
    is_reply: bool


class SlackImport:
    """One run over an open export. ``run`` returns the summary; ``dry_run`` rolls every
    change back at the end (and stores no file)."""

    def __init__(
        self, export: Export, *, dry_run: bool = False, progress: IO[str] | None = None
    ) -> None:
        self.export = export
        self.dry_run = dry_run
        self.progress_stream = progress
        self.summary = Summary()
        self.people = People(self.summary)
        self.channel_names: dict[str, str] = {}
        self.converter = mrkdwn.Converter(
            username_of=self.people.username_of, channel_name_of=self.channel_names.get
        )

    # --- the run ----------------------------------------------------------------------

    def run(self) -> Summary:
        with rls.acting_as_service():
            if not self.dry_run:
                self._run()
                return self.summary
            with transaction.atomic():
                self._run()
                transaction.set_rollback(True)
        return self.summary

    def _run(self) -> None:
        # The people first, in one transaction; then each channel in one of its own.
        with transaction.atomic():
            self.people.import_users(self.export.users)
        self._note_unimported_parts()
        channels = sorted(self.export.channels, key=_channel_order)
        self._plan_channel_names(channels)
        total = sum(len(self.export.days.get(str(c.get("name")), [])) for c in channels)
        self.progress = Progress(self.progress_stream, total)
        for entry in channels:
            self._import_channel_safely(entry)
        self.progress.finish()

    def _note_unimported_parts(self) -> None:
        reasons = {
            "groups.json": "private channels are not imported",
            "dms.json": "direct messages are not imported",
            "mpims.json": "group direct messages are not imported",
        }
        names = set(self.export.archive.namelist())
        for name, reason in reasons.items():
            if name in names:
                self.summary.skip("export parts", reason, f"{name}: {reason}")

    # --- channels ---------------------------------------------------------------------

    def _plan_channel_names(self, channels: list[dict[str, Any]]) -> None:
        """Each channel's name here, known before any message is converted (``#name``)."""
        known = mapped(Kind.CHANNEL)
        found = {
            str(pk): name
            for pk, name in Channel.objects.filter(
                pk__in=[uuid.UUID(v) for v in known.values()]
            ).values_list("pk", "name")
        }
        taken = set(Channel.objects.values_list("name", flat=True))
        for entry in channels:
            slack_id = entry["id"]
            if slack_id in known and known[slack_id] in found:
                self.channel_names[slack_id] = found[known[slack_id]]
                continue
            base = channel_name_base(str(entry.get("name") or slack_id))
            name, number = base, 1
            while name in taken:
                # A name already here belongs to someone else's channel: never merge into it.
                name = f"{base}-slack" if number == 1 else f"{base}-slack-{number}"
                number += 1
            taken.add(name)
            self.channel_names[slack_id] = name

    def _import_channel_safely(self, entry: dict[str, Any]) -> None:
        label = f"#{entry.get('name') or entry['id']}"
        summary = self.summary
        before = (summary.imported.copy(), summary.existing.copy(), summary.skipped.copy())
        stored: list[str] = []
        try:
            with transaction.atomic():
                self._import_channel(entry, stored)
        except Exception as exc:  # one channel's failure must not stop the others
            storage.delete_quietly(stored)
            summary.imported, summary.existing, summary.skipped = before
            self.summary.skip("channels", "failed", f"{label}: not imported ({exc})")
            self.people.bots = {}

    def _import_channel(self, entry: dict[str, Any], stored: list[str]) -> None:
        slack_id = entry["id"]
        known = SlackObject.objects.filter(kind=Kind.CHANNEL, slack_id=slack_id).first()
        channel = Channel.objects.filter(pk=uuid.UUID(known.object_id)).first() if known else None
        new_members: list[int] = []
        if channel is None:
            channel = self._channel_create(entry)
            SlackObject.objects.update_or_create(
                kind=Kind.CHANNEL, slack_id=slack_id, defaults={"object_id": str(channel.pk)}
            )
            self.summary.imported["channels"] += 1
        else:
            self.summary.existing["channels"] += 1
        new_members = self._memberships(channel, entry)
        last = self._import_messages(channel, entry, stored)
        if new_members:
            # History is read: imported members start with nothing unread.
            Membership.objects.filter(pk__in=new_members).update(
                last_read_seq=Channel.objects.get(pk=channel.pk).last_seq
            )
        if entry.get("is_archived") is True and channel.archived_at is None and known is None:
            channel.archived_at = last or timezone.now()
            channel.save(update_fields=["archived_at"])

    def _channel_create(self, entry: dict[str, Any]) -> Channel:
        created = slack_time(entry.get("created")) or timezone.now()
        topic = text_of(nested(entry, "topic", "value"), 500) or text_of(
            nested(entry, "purpose", "value"), 500
        )
        creator = self.people.users.get(str(entry.get("creator")))
        channel = Channel(
            name=self.channel_names[entry["id"]],
            topic=topic,
            created_by=creator,
            created_at=created,
        )
        channel.save()
        return channel

    def _memberships(self, channel: Channel, entry: dict[str, Any]) -> list[int]:
        members = entry.get("members")
        members = members if isinstance(members, list) else []
        users = {
            self.people.users[m].pk: self.people.users[m] for m in members if m in self.people.users
        }
        unknown = sum(1 for m in members if m not in self.people.users)
        if unknown:
            self.summary.skipped[("memberships", "unknown user")] += unknown
        present = set(
            Membership.objects.filter(channel=channel, user_id__in=users).values_list(
                "user_id", flat=True
            )
        )
        creator = self.people.users.get(str(entry.get("creator")))
        rows = [
            Membership(
                channel=channel,
                user=user,
                role=(
                    Membership.Role.OWNER
                    if creator is not None and user.pk == creator.pk
                    else Membership.Role.MEMBER
                ),
                joined_at=channel.created_at,
            )
            for pk, user in sorted(users.items())
            if pk not in present
        ]
        Membership.objects.bulk_create(rows)
        self.summary.imported["memberships"] += len(rows)
        return [row.pk for row in rows]

    # --- messages ---------------------------------------------------------------------

    def _day_messages(self, channel_label: str, folder: str) -> Iterable[dict[str, Any]]:
        for name in self.export.days.get(folder, []):
            try:
                day = self.export.read_json(name)
            except ValueError as exc:
                self.summary.skip("day files", "unreadable", f"{channel_label}: {exc}")
                day = None
            self.progress.advance(channel_label)
            if day is None:
                continue
            if not isinstance(day, list):
                self.summary.skip("day files", "not a list", f"{channel_label}: {name}")
                continue
            for item in day:
                if isinstance(item, dict) and item.get("type", "message") == "message":
                    yield item
                else:
                    self.summary.skip("messages", "not a message")

    def _import_messages(
        self, channel: Channel, entry: dict[str, Any], stored: list[str]
    ) -> datetime | None:
        slack_id = entry["id"]
        label = f"#{entry.get('name') or slack_id}"
        items = []
        for item in self._day_messages(label, str(entry.get("name"))):
            when = slack_time(item.get("ts"))
            if when is None:
                self.summary.skip("messages", "bad ts", f"{label}: a message without a valid ts")
                continue
            items.append((Decimal(str(item["ts"])), when, item))
        items.sort(key=lambda triple: triple[0])
        known = self._mapped_messages(slack_id, [str(ts) for ts, _, _ in items])
        planned: list[_Planned] = []
        seen: set[str] = set()
        for _ts, when, item in items:
            key = f"{slack_id}/{item['ts']}"
            if key in seen:
                self.summary.skip("messages", "duplicate ts")
                continue
            if key in known:
                self.summary.existing["messages"] += 1
                continue
            seen.add(key)
            plan = self._plan(channel, label, key, when, item, known, stored)
            if plan is not None:
                known[key] = plan.message
                planned.append(plan)
        self._insert(channel, planned)
        return planned[-1].message.created_at if planned else None

    def _mapped_messages(self, channel_slack_id: str, stamps: list[str]) -> dict[str, Any]:
        keys = [f"{channel_slack_id}/{ts}" for ts in stamps]
        found: dict[str, Any] = {}
        for start in range(0, len(keys), BATCH):
            rows = SlackObject.objects.filter(
                kind=Kind.MESSAGE, slack_id__in=keys[start : start + BATCH]
            ).values_list("slack_id", "object_id")
            found.update(dict(rows))
        return found

    def _author(self, label: str, item: dict[str, Any]) -> User | None:
        subtype = item.get("subtype")
        user_id = item.get("user")
        if isinstance(user_id, str) and user_id in self.people.users:
            return self.people.users[user_id]
        if subtype == "bot_message" or item.get("bot_id"):
            bot = self.people.bot_for(item)
            if bot is not None:
                return bot
        self.summary.skip(
            "messages", "unknown user", f"{label} {item.get('ts')}: unknown user {user_id!r}"
        )
        return None

    def _plan(
        self,
        channel: Channel,
        label: str,
        key: str,
        when: datetime,
        item: dict[str, Any],
        known: dict[str, Any],
        stored: list[str],
    ) -> _Planned | None:
        subtype = item.get("subtype")
        if subtype not in MESSAGE_SUBTYPES:
            self.summary.skip("messages", f"subtype {str(subtype)[:40]}")
            return None
        author = self._author(label, item)
        if author is None:
            return None
        parent = None
        thread_ts = item.get("thread_ts")
        if thread_ts is not None and str(thread_ts) != str(item["ts"]):
            parent = known.get(f"{channel_slack_id(key)}/{thread_ts}")
            if parent is None:
                self.summary.skip(
                    "replies",
                    "thread root missing",
                    f"{label} {item['ts']}: the thread's first message {thread_ts} is missing",
                )
                return None
        text = item.get("text")
        content = self.converter.convert(text) if isinstance(text, str) else ""
        content = FORBIDDEN_CONTROLS.sub("", content).strip()
        if len(content) > MAX_CONTENT_LENGTH:
            content = content[: MAX_CONTENT_LENGTH - 1] + "…"
            self.summary.skip("messages", "cut to 4000 characters (imported)")
        uploads = self._files(label, author, item, stored)
        problem = content_problem(content) if content or not uploads else None
        if problem:
            self.summary.skip("messages", "empty" if not content.strip() else "bad content")
            return None
        edited = slack_time(nested(item, "edited", "ts"))
        message = Message(
            id=uuid.uuid4(),
            channel=channel,
            user=author,
            content=content,
            rendered=(
                rendering.render_with_lookup(content, lookup=self.people.lookup, broadcast=True)
                if content
                else ""
            ),
            created_at=when,
            edited_at=edited if edited and edited > when else None,
            action=subtype == "me_message",
            attachments=files_services.attachments_data(uploads),
        )
        if parent is not None:
            message.parent_id = parent.pk if isinstance(parent, Message) else uuid.UUID(parent)
        reactions = self._reactions(label, item)
        return _Planned(message, key, reactions, uploads, parent is not None)

    def _reactions(self, label: str, item: dict[str, Any]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        entries = item.get("reactions")
        for reaction in entries if isinstance(entries, list) else []:
            if not isinstance(reaction, dict):
                continue
            users = reaction.get("users")
            users = [u for u in users if isinstance(u, str)] if isinstance(users, list) else []
            glyph = emoji_for(reaction.get("name"))
            if glyph is None:
                self.summary.skipped[("reactions", "unknown emoji")] += max(len(users), 1)
                continue
            if glyph not in {g for g, _ in found} and len({g for g, _ in found}) >= MAX_DISTINCT:
                self.summary.skipped[("reactions", f"over {MAX_DISTINCT} emoji")] += len(users)
                continue
            for slack_user in users:
                user = self.people.users.get(slack_user)
                if user is None:
                    self.summary.skipped[("reactions", "unknown user")] += 1
                elif (glyph, user.pk) not in found:
                    found.append((glyph, user.pk))
        return found

    def _files(
        self, label: str, author: User, item: dict[str, Any], stored: list[str]
    ) -> list[Upload]:
        entries = item.get("files")
        uploads: list[Upload] = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            file_id = entry.get("id")
            if entry.get("mode") in ("tombstone", "hidden_by_limit"):
                self.summary.skip("files", "deleted or hidden in Slack")
                continue
            info = self.export.uploads.get(file_id) if isinstance(file_id, str) else None
            if info is None:
                self.summary.skip(
                    "files",
                    "not in the export (a link only)",
                    f"{label} {item.get('ts')}: file {str(file_id)[:40]} is not in the export",
                )
                continue
            if len(uploads) >= files_services.MAX_ATTACHMENTS:
                self.summary.skip("files", f"over {files_services.MAX_ATTACHMENTS} on a message")
                continue
            upload = self._store(label, author, entry, info, stored)
            if upload is not None:
                uploads.append(upload)
        return uploads

    def _store(
        self, label: str, author: User, entry: dict[str, Any], info: Any, stored: list[str]
    ) -> Upload | None:
        name = entry.get("name") or info.filename.rsplit("/", 1)[-1]
        try:
            data = self.export.read(info, limit=settings.CHAT_UPLOAD_MAX_BYTES)
        except TooBig:
            self.summary.skip("files", "too large", f"{label}: {str(name)[:80]} is too large")
            return None
        if self.dry_run:
            self.summary.imported["files"] += 1
            return None
        try:
            with transaction.atomic():
                upload = files_services.upload_store(
                    user=author, file=SimpleUploadedFile(str(name)[:255], data)
                )
        except ChatError as exc:
            self.summary.skip("files", "refused", f"{label}: {str(name)[:80]}: {exc.detail}")
            return None
        stored.extend(key for key in (upload.storage_key, upload.thumbnail_key) if key)
        SlackObject.objects.update_or_create(
            kind=Kind.FILE, slack_id=str(entry["id"]), defaults={"object_id": str(upload.pk)}
        )
        self.summary.imported["files"] += 1
        return upload

    def _insert(self, channel: Channel, planned: list[_Planned]) -> None:
        """Insert the planned messages under the channel's lock, with seqs in their order."""
        if not planned:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE chat_channel SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq",
                [len(planned), channel.pk],
            )
            row = cursor.fetchone()
        assert row is not None
        first = int(row[0]) - len(planned) + 1
        reaction_rows: list[Reaction] = []
        for number, plan in enumerate(planned):
            plan.message.seq = plan.message.change_seq = first + number
            summary: dict[str, dict[str, Any]] = {}
            for glyph, user_id in plan.reactions:
                shown = summary.setdefault(glyph, {"emoji": glyph, "count": 0, "user_ids": []})
                shown["count"] += 1
                shown["user_ids"].append(str(user_id))
                reaction_rows.append(
                    Reaction(
                        message_id=plan.message.pk,
                        user_id=user_id,
                        emoji=glyph,
                        created_at=plan.message.created_at,
                    )
                )
            plan.message.reactions = list(summary.values())
        Message.objects.bulk_create([plan.message for plan in planned], batch_size=BATCH)
        Reaction.objects.bulk_create(reaction_rows, batch_size=BATCH)
        SlackObject.objects.bulk_create(
            [
                SlackObject(kind=Kind.MESSAGE, slack_id=plan.key, object_id=str(plan.message.pk))
                for plan in planned
            ],
            batch_size=BATCH,
        )
        for plan in planned:
            files_services.uploads_attach(uploads=plan.uploads, message=plan.message)
        parents = sorted({str(p.message.parent_id) for p in planned if p.is_reply})
        if parents:
            _recount_threads(parents)
        self.summary.imported["messages"] += len(planned)
        self.summary.imported["replies"] += sum(1 for plan in planned if plan.is_reply)
        self.summary.imported["reactions"] += len(reaction_rows)


RECOUNT_SQL = """
UPDATE chat_message AS parent
SET reply_count = counted.replies, last_reply_at = counted.last_reply
FROM (
    SELECT parent_id, count(*) AS replies, max(created_at) AS last_reply
    FROM chat_message
    WHERE parent_id = ANY (%s::uuid[]) AND deleted_at IS NULL
    GROUP BY parent_id
) AS counted
WHERE parent.id = counted.parent_id
"""


def _recount_threads(parent_ids: list[str]) -> None:
    """Each thread's live replies and latest reply time, recounted onto its parent (as
    ``chat.services.thread_refresh`` does for one)."""
    with connection.cursor() as cursor:
        for start in range(0, len(parent_ids), BATCH):
            cursor.execute(RECOUNT_SQL, [parent_ids[start : start + BATCH]])


def _channel_order(entry: dict[str, Any]) -> tuple[int, str]:
    created = entry.get("created")
    return (created if isinstance(created, int) else 0, str(entry["id"]))


def channel_slack_id(message_key: str) -> str:
    return message_key.split("/", 1)[0]


def import_export(
    export: Export, *, dry_run: bool = False, progress: IO[str] | None = None
) -> Summary:
    """Import an open export (integrations.importers.slack_export.open_export)."""
    return SlackImport(export, dry_run=dry_run, progress=progress).run()
