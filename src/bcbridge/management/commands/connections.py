"""``bcbridge connections``: each connection with its token status and companies."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table

from bcbridge.models import Connection, TokenStatus


class Command(BaseCommand):
    help = "List connections with their token status and companies (* = selected)."

    def handle(self, *args: Any, **options: Any) -> None:
        table = Table(title="BC connections")
        for column in ("name", "environment", "tenant", "grant", "token", "expires", "companies"):
            table.add_column(column)
        for connection in Connection.objects.prefetch_related("companies"):
            status = TokenStatus(connection.current_token_status())
            companies = "\n".join(
                f"{'*' if c.selected else ' '} {c.display_name or c.name}"
                for c in connection.companies.all()
                if c.present
            )
            expires = connection.token_expires_at.strftime("%Y-%m-%d %H:%M:%S") if connection.token_expires_at else "—"
            reason = f"\n{connection.status_reason}" if connection.status_reason else ""
            table.add_row(
                connection.name,
                connection.environment,
                connection.tenant,
                connection.grant_type,
                status.label + reason,
                expires,
                companies or "—",
            )
        Console(file=self.stdout, width=160).print(table)
