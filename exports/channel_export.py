"""The operator's export of channels to a directory (docs/integrations.md, "Exporting").

Layout of DIR::

    manifest.json           the options, and per channel the checkpoint: last seq, byte offset
    users.jsonl             every account, one JSON object a line
    channels.jsonl          the exported channels (members, and the file of each)
    channels/<name>.jsonl   one channel's messages in seq order, one JSON object a line
    files/<id>/<name>       the bytes of every attachment, copied from the storage backend

Memory stays flat: messages are read a page at a time (``exports.selectors.message_pages``)
and written as they come, and files are streamed in chunks. After each page the channel file
is flushed to disk and the manifest records the seq and the byte offset reached, so a run that
is killed can be run again with the same DIR: each channel file is cut back to its recorded
offset (dropping a partly written line) and the export continues after the recorded seq, and
ends byte for byte as an uninterrupted run would.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from chat.models import Channel
from exports import selectors, shapes
from files import storage

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class ExportError(Exception):
    """The export cannot start (a bad option, or DIR holds another export)."""


@dataclass
class ChannelProgress:
    name: str
    file: str
    last_seq: int = 0
    offset: int = 0
    messages: int = 0
    files: int = 0
    done: bool = False


@dataclass
class ExportSummary:
    channels: int = 0
    messages: int = 0
    files: int = 0
    bytes: int = 0
    resumed: list[str] = field(default_factory=list)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def _copy_upload(upload: Any, target: Path) -> None:
    """Stream an attachment's bytes into ``target`` (skipped when a complete copy is there)."""
    if target.exists() and target.stat().st_size == upload.size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with storage.open_file(upload.storage_key) as source, partial.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    os.replace(partial, target)


class ChannelExport:
    """One export into ``out``; ``run`` does it (or finishes an interrupted one)."""

    def __init__(
        self,
        *,
        out: Path,
        channels: list[Channel],
        since: datetime | None = None,
        include_dms: bool = False,
        page_size: int = selectors.DEFAULT_PAGE_SIZE,
        progress: Callable[[str], None] = lambda line: None,
        pause_per_page: float = 0.0,
    ) -> None:
        self.out = out
        self.channels = channels
        self.since = since
        self.page_size = page_size
        self.progress = progress
        self.pause_per_page = pause_per_page
        self.options = {
            "version": FORMAT_VERSION,
            "channels": sorted(str(channel.pk) for channel in channels),
            "since": shapes.iso(since),
            "include_dms": include_dms,
        }
        self.state: dict[str, ChannelProgress] = {}

    # --- the manifest -----------------------------------------------------------------

    def _load(self) -> None:
        path = self.out / MANIFEST
        if not path.exists():
            if self.out.exists() and any(self.out.iterdir()):
                raise ExportError(f"{self.out} is not empty and holds no export to resume.")
            return
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("options") != self.options:
            raise ExportError(
                f"{self.out} holds an export made with other options; use another directory."
            )
        for channel_id, data in manifest.get("progress", {}).items():
            self.state[channel_id] = ChannelProgress(**data)

    def _save(self) -> None:
        manifest = {
            "options": self.options,
            "progress": {key: vars(value) for key, value in self.state.items()},
        }
        _write_atomically(self.out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))

    # --- the run ----------------------------------------------------------------------

    def run(self) -> ExportSummary:
        self._load()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "channels").mkdir(exist_ok=True)
        summary = ExportSummary(channels=len(self.channels))
        for channel in self.channels:
            key = str(channel.pk)
            if key in self.state and self.state[key].offset:
                summary.resumed.append(channel.name)
            self.state.setdefault(
                key, ChannelProgress(name=channel.name, file=f"channels/{channel.name}.jsonl")
            )
        self._save()
        self._write_users()
        self._write_channels()
        for channel in self.channels:
            progress = self.state[str(channel.pk)]
            if not progress.done:
                self._export_channel(channel, progress)
            summary.messages += progress.messages
            summary.files += progress.files
            summary.bytes += progress.offset
        return summary

    def _write_users(self) -> None:
        with (self.out / "users.jsonl.tmp").open("w", encoding="utf-8") as out:
            for user in selectors.users_to_export().iterator(chunk_size=self.page_size):
                out.write(dumps(shapes.user_line(user)) + "\n")
        os.replace(self.out / "users.jsonl.tmp", self.out / "users.jsonl")

    def _write_channels(self) -> None:
        lines = [
            dumps(
                shapes.channel_line(
                    channel,
                    members=selectors.channel_member_names(channel),
                    file=self.state[str(channel.pk)].file,
                )
            )
            for channel in self.channels
        ]
        _write_atomically(self.out / "channels.jsonl", "".join(line + "\n" for line in lines))

    def _export_channel(self, channel: Channel, progress: ChannelProgress) -> None:
        path = self.out / progress.file
        with path.open("a+b") as out:
            # Whatever follows the last checkpoint (a page cut short, a partial line) goes.
            out.truncate(progress.offset)
            out.seek(progress.offset)
            verb = "resuming" if progress.offset else "exporting"
            self.progress(f"{verb} #{channel.name} after seq {progress.last_seq}")
            for page in selectors.message_pages(
                channel=channel,
                after_seq=progress.last_seq,
                since=self.since,
                page_size=self.page_size,
            ):
                self._write_page(out, page, progress)
                self.progress(
                    f"#{channel.name}: {progress.messages} messages, up to seq {progress.last_seq}"
                )
                if self.pause_per_page:
                    time.sleep(self.pause_per_page)
        progress.done = True
        self._save()

    def _write_page(self, out: IO[bytes], page: list[Any], progress: ChannelProgress) -> None:
        uploads = selectors.uploads_of(page)
        for message in page:
            attached = uploads.get(message.pk, [])
            for upload in attached:
                _copy_upload(upload, self.out / shapes.upload_path(upload))
            out.write((dumps(shapes.message_line(message, attached)) + "\n").encode())
            progress.files += len(attached)
        out.flush()
        os.fsync(out.fileno())
        progress.messages += len(page)
        progress.last_seq = page[-1].seq
        progress.offset = out.tell()
        self._save()
