"""``bcbridge sync [--connection NAME] [--full] [--streams N] [ENTITY_SET ...]``: mirror BC now."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from bcbridge.management._options import connection_named
from bcbridge.sync.engine import DEFAULT_STREAMS, sync
from bcbridge.sync.progress import RichProgress, summary_table


def _streams(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--streams takes a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--streams must be 1 or more, got {value}")
    return value


class Command(BaseCommand):
    help = (
        "Sync the configured entity sets (or the ones named) of the selected companies of every "
        "enabled connection: incremental from the watermark, or --full."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("entity_sets", nargs="*", metavar="ENTITY_SET", help="e.g. items salesInvoices")
        parser.add_argument("--connection", help="Only this connection (default: every enabled one).")
        parser.add_argument("--full", action="store_true", help="Ignore the watermark: list the whole set.")
        parser.add_argument(
            "--streams",
            type=_streams,
            default=None,
            help=(
                f"Parallel streams for a large pull, in lastModifiedDateTime ranges (default {DEFAULT_STREAMS}; "
                "never more than the connection's RATE_LIMIT_CONCURRENCY, BC's 5 per user; 1 = one stream)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connection_named(options["connection"])
        console = Console(file=self.stdout, width=140)
        with RichProgress(file=self.stdout) as progress:
            report = sync(
                connection,
                options["entity_sets"] or None,
                full=options["full"],
                progress=progress,
                streams=options["streams"],
            )
        for note in report.notes:
            console.print(f"[yellow]{note}[/yellow]")
        if report.runs:
            console.print(summary_table(report.runs))
        if not report.ok:
            raise CommandError("some entity sets failed to sync (see the error column)")
