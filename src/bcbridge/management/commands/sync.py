"""``bcbridge sync [--connection NAME] [--full] [--streams N] [ENTITY_SET ...]``: mirror BC now.

With ``--number N``, ``--id GUID`` or ``--external-id X`` (and one entity set) only that
record is read from BC and stored (:func:`bcbridge.sync.single.sync_record`).
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.management._options import (
    check_entity_sets,
    company_named,
    connection_named,
    intermixed,
    the_connection,
)
from bcbridge.sync.engine import DEFAULT_STREAMS, sync
from bcbridge.sync.progress import RichProgress, summary_table
from bcbridge.sync.single import sync_record


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
        "enabled connection: incremental from the watermark, or --full. With --number, --id or "
        "--external-id: only that record of the one entity set named."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        return intermixed(super().create_parser(prog_name, subcommand, **kwargs))

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
        one = parser.add_argument_group("one record")
        one.add_argument("--number", help="The record's number (items: No., locations: Code).")
        one.add_argument("--id", dest="bc_id", metavar="GUID", help="BC's id (systemId) of the record.")
        one.add_argument("--external-id", help="An id of another system (external-id map, externalDocumentNumber).")
        one.add_argument("--company", help="Company name or id (default: the connection's selected one).")

    def handle(self, *args: Any, **options: Any) -> None:
        names: list[str] = options["entity_sets"]
        single = [
            flag
            for flag, key in (("--number", "number"), ("--id", "bc_id"), ("--external-id", "external_id"))
            if options[key]
        ]
        if single:
            self._one(names, single, options)
            return
        if options["company"]:
            raise CommandError(
                "--company selects the company of one record: use it with --number, --id or --external-id."
            )
        connection = connection_named(options["connection"])
        check_entity_sets(connection, names)
        console = Console(file=self.stdout, width=140)
        with RichProgress(file=self.stdout) as progress:
            report = sync(
                connection,
                names or None,
                full=options["full"],
                progress=progress,
                streams=options["streams"],
            )
        for note in report.notes:
            console.print(f"[yellow]{note}[/yellow]")
        if report.runs:
            console.print(summary_table(report.runs))
        if not report.complete:
            failed = [run for run in report.runs if run.status == "failed"]
            detail = report.problem()
            if failed:
                detail += f"; {failed[0].entity_set}: {' '.join(failed[0].error.split())}"
            raise CommandError(f"not every entity set was synced: {detail}")

    def _one(self, names: list[str], flags: list[str], options: dict[str, Any]) -> None:
        if len(flags) > 1:
            raise CommandError(f"Use one of {' / '.join(flags)}, not several.")
        if len(names) != 1:
            raise CommandError(f"{flags[0]} needs exactly one ENTITY_SET, e.g. `bcbridge sync items {flags[0]} ...`.")
        if options["full"]:
            raise CommandError(f"--full lists a whole set; leave it out with {flags[0]}.")
        connection = the_connection(options["connection"])
        check_entity_sets(connection, names)
        company = company_named(connection, options["company"])
        try:
            with BC(connection) as bc:
                result = sync_record(
                    bc,
                    company,
                    names[0],
                    bc_id=options["bc_id"],
                    number=options["number"],
                    external_id=options["external_id"],
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except BCBridgeError as exc:
            raise CommandError(f"{connection.name}: {exc}") from exc
        self.stdout.write(f"{connection.name} / {company.name}: {result}")
