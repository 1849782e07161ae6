"""``bcbridge push [--connection NAME] [--batch] [--limit N]``: drain the outbox once.

Sends every message due now (retries scheduled for later stay for later, see
:func:`bcbridge.push.drain`), then prints a summary and the outbox by status. Exit status
1 when a message was parked in this run (a person must look at it), 0 otherwise, so cron
jobs and CI notice.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from bcbridge.management._options import connection_named
from bcbridge.push import drain, outbox_counts


class Command(BaseCommand):
    help = "Send the outbox messages that are due now, once; exit 1 if any was parked."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", help="Only this connection's messages.")
        parser.add_argument("--batch", action="store_true", help="Send writes in $batch requests (up to 100 each).")
        parser.add_argument("--limit", type=int, default=1000, help="Messages claimed per round (default 1000).")
        parser.add_argument(
            "--message",
            type=int,
            metavar="ID",
            help="Send this one message again now (a sent update is re-sent as a copy; a sent create is refused).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["message"] is not None:
            self._one(options["message"])
            return
        connection = connection_named(options["connection"])
        if options["limit"] < 1:
            raise CommandError(f"--limit must be 1 or more (got {options['limit']}).")
        result = drain(connection=connection, batch=options["batch"], limit=options["limit"])
        console = Console(file=self.stdout, width=120)
        table = Table(title="bcbridge push")
        for column in ("claimed", "sent", "retried later", "parked", "found in BC (adopted)"):
            table.add_column(column, justify="right")
        table.add_row(*(str(n) for n in (result.claimed, result.sent, result.retried, result.parked, result.adopted)))
        console.print(table)
        counts = outbox_counts(connection)
        console.print("outbox: " + ", ".join(f"{status} {count}" for status, count in counts.items()))
        for line in result.errors[:20]:
            console.print(f"  {line}", markup=False)
        if result.parked:
            raise SystemExit(1)

    def _one(self, pk: int) -> None:
        from bcbridge.models import OutboxMessage
        from bcbridge.push.resend import send_again

        message = OutboxMessage.objects.select_related("connection").filter(pk=pk).first()
        if message is None:
            raise CommandError(f"No outbox message #{pk} (admin: Outbox messages lists them).")
        result = send_again(message)
        if result.outcome in ("refused", "parked"):
            raise CommandError(str(result))
        self.stdout.write(str(result))
