"""manage.py export: channels to JSON lines and their attachments' files, resumable
(docs/integrations.md, "Exporting")."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from chatsite import rls
from exports import selectors
from exports.channel_export import ChannelExport, ExportError


def _date(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD).") from None
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class Command(BaseCommand):
    help = (
        "Export public and private channels (direct messages with --include-dms) to DIR: "
        "JSON lines per channel, users.jsonl, channels.jsonl and the attachments' files. "
        "Run it again with the same DIR to finish an interrupted export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="The directory to write.")
        parser.add_argument(
            "--channel",
            action="append",
            default=[],
            metavar="NAME_OR_ID",
            help="Only this channel (repeat for more). Default: every channel.",
        )
        parser.add_argument(
            "--since", type=_date, default=None, help="Only messages from this day (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--include-dms",
            action="store_true",
            help="Export direct messages too (every one, or those named by id with --channel).",
        )
        parser.add_argument(
            "--page-size",
            type=int,
            default=selectors.DEFAULT_PAGE_SIZE,
            help="Messages read and written per step (and per checkpoint).",
        )
        # For the tests of an interrupted export: wait this long after each page.
        parser.add_argument("--pause-per-page", type=float, default=0.0, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1.")
        # An operator command: it reads every channel, as the migrations do, under the service
        # role (docs/integrations.md, "Exporting").
        with rls.acting_as_service():
            channels, missing = selectors.channels_to_export(
                names_or_ids=options["channel"], include_dms=options["include_dms"]
            )
            if missing:
                raise CommandError("No such channel: " + ", ".join(missing) + ".")
            export = ChannelExport(
                out=options["out"],
                channels=channels,
                since=options["since"],
                include_dms=options["include_dms"],
                page_size=options["page_size"],
                progress=lambda line: print(line, file=sys.stderr, flush=True),
                pause_per_page=options["pause_per_page"],
            )
            try:
                summary = export.run()
            except ExportError as exc:
                raise CommandError(str(exc)) from None
        resumed = f" (resumed: {', '.join(summary.resumed)})" if summary.resumed else ""
        self.stdout.write(
            f"Exported {summary.channels} channel(s), {summary.messages} message(s), "
            f"{summary.files} file(s), {summary.bytes} bytes of JSON to {options['out']}"
            f"{resumed}."
        )
