"""The JSON objects of an export, one per line (docs/integrations.md, "Exporting")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import User
from chat.models import Channel, Message
from files.models import Upload


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_line(user: User, *, with_email: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.display_name,
        "is_bot": user.is_bot,
        "is_active": user.is_active,
        "date_joined": iso(user.date_joined),
    }
    if with_email:
        data["email"] = user.email
    return data


def author(user: User) -> dict[str, Any]:
    return {"id": str(user.pk), "username": user.username, "display_name": user.display_name}


def upload_path(upload: Upload) -> str:
    """Where an attachment's bytes lie in the export: by its id, under its cleaned name."""
    return f"files/{upload.pk}/{upload.name}"


def attachment_line(upload: Upload) -> dict[str, Any]:
    return {
        "id": str(upload.pk),
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "path": upload_path(upload),
    }


def message_line(message: Message, uploads: list[Upload]) -> dict[str, Any]:
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "author": author(message.user),
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted_at": iso(message.deleted_at),
        "content": message.content,
        "rendered": message.rendered,
        "thread_root": str(message.parent_id) if message.parent_id else None,
        "reply_count": message.reply_count,
        "action": message.action,
        "sender_name": message.sender_name,
        "reactions": message.reactions,
        "attachments": [attachment_line(upload) for upload in uploads],
    }


def channel_line(channel: Channel, *, members: list[str], file: str) -> dict[str, Any]:
    return {
        "id": str(channel.pk),
        "name": channel.name,
        "kind": channel.kind,
        "title": channel.title,
        "topic": channel.topic,
        "is_private": channel.is_private,
        "created_at": iso(channel.created_at),
        "created_by": channel.created_by.username if channel.created_by else None,
        "archived_at": iso(channel.archived_at),
        "retention_days": channel.retention_days,
        "members": members,
        "file": file,
    }
