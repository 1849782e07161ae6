"""``bcbridge reconcile [--connection NAME] [ENTITY_SET ...]``: compare the mirror with BC.

Exit status 0 when the mirror equals BC, 1 (with per-set counts of missing, extra and stale
records) otherwise. Differences are repaired unless ``--check`` is given.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from bcbridge.management._options import check_entity_sets, connection_named, intermixed
from bcbridge.models import SyncRun
from bcbridge.sync.progress import RichProgress, summary_table
from bcbridge.sync.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Compare the mirror with BC's keys, ETags and lastModifiedDateTime; soft-delete what BC no "
        "longer has and fetch what is missing or stale. Exit 1 when anything differed."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        return intermixed(super().create_parser(prog_name, subcommand, **kwargs))

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("entity_sets", nargs="*", metavar="ENTITY_SET")
        parser.add_argument("--connection", help="Only this connection (default: every enabled one).")
        parser.add_argument("--check", action="store_true", help="Only report; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connection_named(options["connection"])
        check_entity_sets(connection, options["entity_sets"])
        console = Console(file=self.stdout, width=140)
        with RichProgress(file=self.stdout) as progress:
            report = reconcile(connection, options["entity_sets"] or None, fix=not options["check"], progress=progress)
        for note in report.notes:
            console.print(f"[yellow]{note}[/yellow]")
        if report.runs:
            console.print(summary_table(report.runs, title="Reconcile", reconcile=True))
        if not report.ok:
            raise CommandError("some entity sets could not be reconciled (see the error column)")
        differing = [run for run in report.runs if run.status == SyncRun.Status.SUCCEEDED and run.differences]
        if differing:
            for run in differing:
                counts = f"{run.missing} missing, {run.extra} extra, {run.stale} stale"
                fixed = "" if options["check"] else " (repaired)"
                console.print(f"{run.entity_set} ({run.company.name}): {counts}{fixed}", markup=False)
            sys.exit(1)
        console.print("the mirror equals BC")
