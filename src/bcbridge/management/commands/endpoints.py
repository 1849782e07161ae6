"""``bcbridge endpoints add|list|import``: the endpoint registry from the command line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.management._options import connection_named
from bcbridge.models import ApiEndpoint, Connection, EndpointKind, HttpMethod
from bcbridge.sync.endpoints import import_endpoints


class Command(BaseCommand):
    help = "Manage the endpoints callable with `bcbridge call` and bc.call(code)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create or update an endpoint.")
        add.add_argument("code")
        add.add_argument("--connection", required=True)
        add.add_argument("--kind", required=True, choices=[k.value for k in EndpointKind])
        add.add_argument("--method", required=True, choices=[m.value for m in HttpMethod])
        add.add_argument("--url", required=True, help='Relative URL template, e.g. "items({id})".')
        add.add_argument("--name", default="")
        add.add_argument("--publisher", default="")
        add.add_argument("--group", default="")
        add.add_argument("--version", default="v2.0")
        add.add_argument("--not-company-scoped", action="store_true", help="API kinds: not under companies({id}).")
        add.add_argument("--disabled", action="store_true")
        listing = sub.add_parser("list", help="List the endpoints of a connection.")
        listing.add_argument("--connection", required=True)
        importing = sub.add_parser("import", help="Create endpoints from the connection's $metadata.")
        importing.add_argument("--connection", required=True)
        importing.add_argument(
            "--route",
            action="append",
            default=[],
            metavar="PUBLISHER/GROUP/VERSION",
            help="Also import a custom API route, e.g. contoso/warehouse/v1.0 (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connection_named(options["connection"])
        assert connection is not None  # --connection is required
        getattr(self, f"_{options['action']}")(connection, options)

    def _add(self, connection: Connection, options: dict[str, Any]) -> None:
        endpoint = ApiEndpoint.objects.filter(connection=connection, code=options["code"]).first() or ApiEndpoint(
            connection=connection, code=options["code"]
        )
        endpoint.kind = options["kind"]
        endpoint.method = options["method"]
        endpoint.url_template = options["url"]
        endpoint.name = options["name"] or endpoint.name or options["code"]
        endpoint.publisher, endpoint.group, endpoint.version = (
            options["publisher"],
            options["group"],
            options["version"],
        )
        endpoint.company_scoped = not options["not_company_scoped"]
        endpoint.enabled = not options["disabled"]
        try:
            endpoint.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise CommandError(f"Invalid endpoint: {exc}") from exc
        endpoint.save()
        self.stdout.write(f"Saved endpoint {endpoint.code}: {endpoint.method} {endpoint.kind} {endpoint.url_template}")

    def _list(self, connection: Connection, options: dict[str, Any]) -> None:
        table = Table(title=f"Endpoints of {connection.name}")
        for column in ("code", "name", "kind", "method", "relative URL", "enabled"):
            table.add_column(column)
        for e in connection.endpoints.all():
            table.add_row(e.code, e.name, e.kind, e.method, e.url_template, "yes" if e.enabled else "no")
        Console(file=self.stdout, width=160).print(table)

    def _import(self, connection: Connection, options: dict[str, Any]) -> None:
        try:
            with BC(connection) as bc:
                created = import_endpoints(bc, options["route"])
        except BCBridgeError as exc:
            raise CommandError(f"Import failed: {exc}") from exc
        self.stdout.write(f"Imported {len(created)} endpoints: {', '.join(e.code for e in created) or 'none new'}")
