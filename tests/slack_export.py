"""Slack exports written for tests and benchmarks: the documented layout of Slack's workspace
export (users.json, channels.json, one folder per channel of YYYY-MM-DD.json day files), with
files under __uploads/<file id>/<name>."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

# 2019-03-04 09:00:00 UTC
BASE_TS = 1551690000


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def ts(seconds: int, micro: int = 0) -> str:
    return f"{BASE_TS + seconds}.{micro:06d}"


def user(slack_id: str, name: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {"real_name": name.title(), "display_name": name}
    if email is not None:
        profile["email"] = email
    return {"id": slack_id, "name": name, "real_name": name.title(), "deleted": False,
            "is_bot": False, "profile": profile, **extra}  # fmt: skip


def channel(slack_id: str, name: str, members: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": slack_id, "name": name, "created": BASE_TS - 86400, "creator": members[0],
            "is_archived": False, "topic": {"value": f"All about {name}"},
            "purpose": {"value": ""}, "members": members, **extra}  # fmt: skip


def message(user_id: str | None, text: str, at: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "text": text, "ts": at, **extra}
    if user_id is not None:
        item["user"] = user_id
    return item


def write_export(
    path: Path,
    *,
    users: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    messages: dict[str, list[dict[str, Any]]] | None = None,
    files: dict[str, tuple[str, bytes]] | None = None,
    raw: dict[str, bytes] | None = None,
) -> Path:
    """Write an export zip: ``messages`` by channel folder (split into day files by ts),
    ``files`` as {file id: (name, bytes)}, ``raw`` as members written as given (a broken
    users.json, an extra dms.json). A ``users`` or ``channels`` of None is left out."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if users is not None:
            archive.writestr("users.json", json.dumps(users))
        if channels is not None:
            archive.writestr("channels.json", json.dumps(channels))
        for folder, items in (messages or {}).items():
            days: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for item in items:
                try:
                    when = datetime.fromtimestamp(float(item["ts"]), tz=UTC)
                except ValueError:  # a broken ts, on the first day
                    when = datetime.fromtimestamp(BASE_TS, tz=UTC)
                days[f"{when:%Y-%m-%d}"].append(item)
            for day, day_items in days.items():
                archive.writestr(f"{folder}/{day}.json", json.dumps(day_items, indent=1))
        for file_id, (name, data) in (files or {}).items():
            archive.writestr(f"__uploads/{file_id}/{name}", data)
        for name, data in (raw or {}).items():
            archive.writestr(name, data)
    return path


def sample(path: Path) -> Path:
    """A small workspace: three people and a bot, two channels (one archived), a thread,
    reactions, an edit, a /me, joins, a file in the export and one only linked."""
    users = [
        user("U01", "alice", "alice@example.com"),
        user("U02", "Bob Smith", "bob@example.com"),
        user("U03", "carol", "carol@example.com"),
        {"id": "B01", "name": "deploybot", "is_bot": True, "deleted": False, "profile": {}},
    ]
    channels = [
        channel("C01", "general", ["U01", "U02", "U03"]),
        channel("C02", "old-stuff", ["U01", "U02"], is_archived=True),
    ]
    general = [
        message("U01", "", ts(0), subtype="channel_join"),
        message("U01", "Hello *team* and <@U02>!", ts(10), reply_count=2, thread_ts=ts(10),
                reactions=[{"name": "+1", "users": ["U02", "U03"], "count": 2},
                           {"name": "partyparrot", "users": ["U02"], "count": 1}]),
        message("U02", "hi _alice_ see <https://example.com|the site>", ts(20),
                thread_ts=ts(10), parent_user_id="U01"),
        message("U03", "~old~ &lt;tag&gt; &amp; more", ts(86400 + 30), thread_ts=ts(10),
                parent_user_id="U01", edited={"user": "U03", "ts": ts(86400 + 90)}),
        message("U02", "waves", ts(86400 + 40), subtype="me_message"),
        message(None, "Deployed v1.2", ts(86400 + 50), subtype="bot_message", bot_id="BX1",
                username="deploybot"),
        message("U01", "the diagram", ts(86400 + 60), subtype="file_share",
                files=[{"id": "F01", "name": "diagram.png", "mimetype": "image/png",
                        "url_private": "https://files.slack.com/F01"}]),
        message("U03", "a link only", ts(86400 + 70),
                files=[{"id": "F02", "name": "notes.pdf", "url_private": "https://x/F02"}]),
        message("U09", "who am I", ts(86400 + 80)),
        message("U02", "orphan reply", ts(86400 + 85), thread_ts=ts(5)),
    ]  # fmt: skip
    old = [
        message("U01", "see <#C01|general>, <!here>", ts(100)),
        message("U02", "```code *not bold*```", ts(200)),
    ]
    return write_export(
        path,
        users=users,
        channels=channels,
        messages={"general": general, "old-stuff": old},
        files={"F01": ("diagram.png", png())},
    )
