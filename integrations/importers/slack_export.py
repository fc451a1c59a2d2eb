"""Reading a Slack export zip safely (docs/integrations.md, "Moving in from Slack").

Nothing is ever extracted to disk: members are read into memory by name, each read capped, so
a path inside the zip (``../../etc/passwd``) names nothing outside it and a zip bomb stops at
the cap, whatever sizes its headers claim.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

# Caps on what one export may make us read; a real export stays far below them.
MAX_JSON_BYTES = 64 * 1024 * 1024  # one JSON file
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024  # everything read from one export
MAX_MEMBERS = 500_000  # entries in the zip
DAY_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
# Files held in the export: __uploads/<file id>/<file name> (the layout of slackdump and of
# exports with files saved beside the messages).
UPLOADS_DIR = "__uploads/"


class ExportError(Exception):
    """A fatal problem: the export cannot be imported at all, and nothing was written."""


class TooBig(Exception):
    """A member past its cap (a per-item problem: the file is skipped)."""


@dataclass
class Export:
    """An open export: its users and channels read, its members found by name."""

    archive: zipfile.ZipFile
    users: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    # Channel folder name -> its day files' member names, in date order.
    days: dict[str, list[str]] = field(default_factory=dict)
    # Slack file id -> the member holding its bytes.
    uploads: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    read_bytes: int = 0

    def close(self) -> None:
        self.archive.close()

    def read(self, info: zipfile.ZipInfo | str, limit: int | None = None) -> bytes:
        """A member's bytes, at most ``limit`` of them (MAX_JSON_BYTES by default; TooBig
        past it)."""
        limit = MAX_JSON_BYTES if limit is None else limit
        if isinstance(info, str):
            info = self.archive.getinfo(info)
        if info.file_size > limit:
            raise TooBig(f"{info.filename} is larger than {limit} bytes")
        with self.archive.open(info) as member:
            data = _read_capped(member, limit, info.filename)
        self.read_bytes += len(data)
        if self.read_bytes > MAX_TOTAL_BYTES:
            raise ExportError(f"the export holds more than {MAX_TOTAL_BYTES} bytes")
        return data

    def read_json(self, name: str) -> Any:
        """A JSON member, parsed; ValueError (with the reason) if it is unreadable."""
        try:
            data = self.read(name)
        except TooBig as exc:
            raise ValueError(str(exc)) from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a corrupt member
            raise ValueError(f"{name}: {exc}") from None
        try:
            return json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{name}: not valid JSON ({exc})") from None


def _read_capped(member: IO[bytes], limit: int, name: str) -> bytes:
    # The header's size can lie: read one byte past the cap to know.
    data = member.read(limit + 1)
    if len(data) > limit:
        raise TooBig(f"{name} is larger than {limit} bytes")
    return data


def _top_level_list(export: Export, name: str) -> list[dict[str, Any]]:
    try:
        value = export.read_json(name)
    except KeyError:
        raise ExportError(f"the export has no {name}") from None
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ExportError(f"{name} is not a list of objects")
    for item in value:
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise ExportError(f"{name} has an entry without an id")
    return value


def open_export(path: str | Path) -> Export:
    """Open and check an export: a zip with ``users.json`` and ``channels.json`` (lists of
    objects with ids). ExportError otherwise."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExportError(f"{path}: a directory, not a zip file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{path}: not a zip file ({exc})") from None
    try:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ExportError(f"the export has more than {MAX_MEMBERS} entries")
        export = Export(archive=archive, users=[], channels=[])
        export.users = _top_level_list(export, "users.json")
        export.channels = _top_level_list(export, "channels.json")
        for info in members:
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if info.filename.startswith(UPLOADS_DIR) and len(parts) == 3 and parts[1]:
                export.uploads.setdefault(parts[1], info)
            elif len(parts) == 2 and DAY_FILE_RE.match(parts[1]):
                export.days.setdefault(parts[0], []).append(info.filename)
        for names in export.days.values():
            names.sort()
    except BaseException:
        archive.close()
        raise
    return export
