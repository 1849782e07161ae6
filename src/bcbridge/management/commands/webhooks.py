"""``bcbridge webhooks {subscribe,renew,list,unsubscribe} [--connection NAME] [ENTITY_SET ...]``.

* ``subscribe [ENTITY_SET ...]``: named sets are switched to mode ``both`` (webhooks, polls
  kept as a safety net); then every wanted subscription missing in BC is created.
* ``renew [--force]``: also renews what expires within ``WEBHOOK_RENEW_BEFORE`` (or all).
* ``list``: the subscriptions with their state and expiry.
* ``unsubscribe [ENTITY_SET ...]``: deletes them in BC (named sets go back to ``poll``).

The notificationUrl is built on ``--notification-url-base`` or the ``PUBLIC_URL`` setting.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from bcbridge.exceptions import BCBridgeError
from bcbridge.management._options import connection_named, intermixed
from bcbridge.models import Connection, WebhookSubscription
from bcbridge.sync.webhooks import WebhookReport, enable, maintain, unsubscribe


class Command(BaseCommand):
    help = "Manage BC webhook subscriptions: subscribe, renew, list, unsubscribe."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        return intermixed(super().create_parser(prog_name, subcommand, **kwargs))

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["subscribe", "renew", "list", "unsubscribe"])
        parser.add_argument("entity_sets", nargs="*", metavar="ENTITY_SET", help="e.g. items salesInvoices")
        parser.add_argument("--connection", help="Only this connection (default: every one).")
        parser.add_argument("--notification-url-base", help="Public base URL BC posts to (default: PUBLIC_URL).")
        parser.add_argument("--force", action="store_true", help="renew: renew every subscription now.")

    def handle(self, *args: Any, **options: Any) -> None:
        connections = Connection.objects.all()
        if options["connection"]:
            connections = connections.filter(pk=connection_named(options["connection"]).pk)  # type: ignore[union-attr]
        console = Console(file=self.stdout, width=160)  # type: ignore[arg-type]
        action, names = options["action"], options["entity_sets"]
        if action == "list":
            console.print(_subscriptions_table(WebhookSubscription.objects.filter(connection__in=connections)))
            return
        failed = False
        for connection in connections:
            try:
                if action == "unsubscribe":
                    report = unsubscribe(connection, names or None)
                else:
                    if names:
                        enable(connection, names)
                    report = maintain(
                        connection,
                        notification_url_base=options["notification_url_base"],
                        renew=action == "renew",
                        force_renew=options["force"],
                    )
            except BCBridgeError as exc:
                raise CommandError(f"{connection.name}: {exc}") from exc
            console.print(_report_table(connection, report))
            for note in report.notes:
                console.print(f"[yellow]{note}[/yellow]")
            failed |= not report.ok
        if failed:
            raise CommandError("some subscriptions failed (see the detail column)")


def _report_table(connection: Connection, report: WebhookReport) -> Table:
    table = Table(title=f"webhooks of {connection.name}")
    for column in ("company", "entity set", "action", "subscriptionId", "detail"):
        table.add_column(column)
    for sub, action, detail in report.actions:
        table.add_row(str(sub.company), sub.entity_set, action, sub.subscription_id, detail)
    return table


def _subscriptions_table(subs: Any) -> Table:
    table = Table(title="webhook subscriptions")
    for column in (
        "connection",
        "company",
        "entity set",
        "status",
        "subscriptionId",
        "expires (UTC)",
        "last notification",
        "error",
    ):
        table.add_column(column)
    for sub in subs.select_related("connection", "company"):
        expires = f"{sub.expiration_date_time:%Y-%m-%d %H:%M}" if sub.expiration_date_time else "-"
        last = f"{sub.last_notification_at:%Y-%m-%d %H:%M:%S}" if sub.last_notification_at else "-"
        table.add_row(
            sub.connection.name,
            str(sub.company),
            sub.entity_set,
            sub.status,
            sub.subscription_id,
            expires,
            last,
            sub.last_error[:60],
        )
    return table
