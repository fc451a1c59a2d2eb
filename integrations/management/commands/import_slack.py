"""``manage.py import_slack <export.zip>`` (docs/integrations.md, "Moving in from Slack")."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.importers.slack import import_export
from integrations.importers.slack_export import ExportError, open_export


class Command(BaseCommand):
    help = (
        "Import a Slack export (the zip of Slack's workspace export): people as accounts to "
        "claim, public channels with their members, messages, threads, reactions and files. "
        "Safe to run again: a second run adds only what is new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("export", help="the export's zip file")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="read and check everything, write nothing, and print what would be imported",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="draw the progress bar on stderr even when it is not a terminal",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            export = open_export(options["export"])
        except ExportError as exc:
            raise CommandError(f"Cannot import: {exc}. Nothing was written.") from None
        stderr = sys.stderr
        show = options["progress"] or (hasattr(stderr, "isatty") and stderr.isatty())
        try:
            summary = import_export(
                export, dry_run=options["dry_run"], progress=stderr if show else None
            )
        finally:
            export.close()
        heading = "Dry run, nothing written" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{heading} from {options['export']} in {time.monotonic() - started:.1f} s:"
        )
        for line in summary.lines():
            self.stdout.write(f"  {line}")
