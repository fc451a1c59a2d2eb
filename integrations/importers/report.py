"""What an import says: its summary (counts by what and why) and its progress bar."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

MAX_PROBLEMS_SHOWN = 50


@dataclass
class Summary:
    """What a run did: counts of what it made, skipped (by reason) and the problems met."""

    imported: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def skip(self, what: str, reason: str, detail: str | None = None) -> None:
        self.skipped[(what, reason)] += 1
        if detail is not None:
            self.problems.append(detail)

    def lines(self) -> list[str]:
        found = self.imported
        lines = [
            f"users: {found['users']} new, {found['users_matched']} matched to existing "
            f"accounts by email, {self.existing['users']} already imported",
            f"bots: {found['bots']} new, {self.existing['bots']} already imported",
            f"channels: {found['channels']} new, {self.existing['channels']} already imported",
            f"memberships: {found['memberships']} new",
            f"messages: {found['messages']} new (replies among them: {found['replies']}), "
            f"{self.existing['messages']} already imported",
            f"reactions: {found['reactions']} new",
            f"files: {found['files']} new",
        ]
        if self.skipped:
            lines.append("skipped:")
            for (what, reason), count in sorted(self.skipped.items()):
                lines.append(f"  {what}, {reason}: {count}")
        if self.problems:
            lines.append("problems:")
            lines.extend(f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN])
            if len(self.problems) > MAX_PROBLEMS_SHOWN:
                lines.append(f"  ... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
        return lines


class Progress:
    """A plain text bar on one line of ``stream``, redrawn at most five times a second."""

    def __init__(self, stream: IO[str] | None, total: int) -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.done = 0
        self.drawn_at = 0.0

    def advance(self, note: str) -> None:
        self.done += 1
        now = time.monotonic()
        if self.stream is None or (now - self.drawn_at < 0.2 and self.done < self.total):
            return
        self.drawn_at = now
        filled = 30 * self.done // self.total
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} day files {note}"
            "\x1b[K"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
