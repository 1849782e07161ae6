"""``bcbridge sync [--connection NAME] [--full] [ENTITY_SET ...]``: mirror BC now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from bcbridge.management._options import connection_named
from bcbridge.sync.engine import sync
from bcbridge.sync.progress import RichProgress, summary_table


class Command(BaseCommand):
    help = (
        "Sync the configured entity sets (or the ones named) of the selected companies of every "
        "enabled connection: incremental from the watermark, or --full."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("entity_sets", nargs="*", metavar="ENTITY_SET", help="e.g. items salesInvoices")
        parser.add_argument("--connection", help="Only this connection (default: every enabled one).")
        parser.add_argument("--full", action="store_true", help="Ignore the watermark: list the whole set.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connection_named(options["connection"])
        console = Console(file=self.stdout, width=140)
        with RichProgress(file=self.stdout) as progress:
            report = sync(connection, options["entity_sets"] or None, full=options["full"], progress=progress)
        for note in report.notes:
            console.print(f"[yellow]{note}[/yellow]")
        if report.runs:
            console.print(summary_table(report.runs))
        if not report.complete:
            raise CommandError(f"not every entity set was synced: {report.problem()}")
