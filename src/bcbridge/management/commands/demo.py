"""``bcbridge demo [--once]``: the emulator, a connected site and its admin, in one command.

Steps: migrate; create the demo admin user; start the emulator on a loopback port; create
the client-credentials connection ``demo`` (token + companies) and the authorization-code
connection ``demo-user`` (press Authorize in the admin); then serve the site. ``--once``
does the steps, prints a summary and exits 0 only if every step succeeded.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.server import EmulatorServer
from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import Connection, GrantType
from bcbridge.sync.companies import load_companies

DEMO_USER, DEMO_PASSWORD = "admin", "admin"


class Command(BaseCommand):
    help = "Run the demo: emulator + site + connections. --once: do it, print a summary, exit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Do every step, print a summary, exit (0 = all good).")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="Port of the site.")
        parser.add_argument("--emulator-port", type=int, default=8765, help="Port of the emulator (0: any free).")
        parser.add_argument("--scale", type=float, default=1.0, help="Emulator data volume.")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout)
        call_command("migrate", interactive=False, verbosity=0)
        user_model = get_user_model()
        if not user_model.objects.filter(username=DEMO_USER).exists():
            user_model.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        emulator = Emulator(EmulatorConfig(scale=options["scale"]))
        server = EmulatorServer(emulator, host=options["host"], port=options["emulator_port"])
        server.start()
        try:
            results = self._connect(emulator, server.url)
            self._summary(console, results)
            site = f"http://{options['host']}:{options['port']}"
            console.print(f"emulator  {server.url}")
            console.print(f"admin     {site}/admin/  (login {DEMO_USER} / {DEMO_PASSWORD})")
            if options["once"]:
                if not all(ok for _, ok, _ in results):
                    raise CommandError("demo failed: see the summary above")
                return
            console.print("Press Ctrl-C to stop.")
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False, insecure_serving=True)
        finally:
            server.stop()

    def _connect(self, emulator: Emulator, url: str) -> list[tuple[str, bool, str]]:
        config = emulator.config
        results: list[tuple[str, bool, str]] = []
        common = {
            "api_url": url, "authority_url": url, "tenant": config.tenant, "environment": config.environment,
            "client_id": config.client_id, "client_secret": config.client_secret,
        }
        Connection.objects.update_or_create(name="demo-user", defaults={**common, "grant_type": GrantType.AUTHORIZATION_CODE})
        connection, _ = Connection.objects.update_or_create(
            name="demo", defaults={**common, "grant_type": GrantType.CLIENT_CREDENTIALS}
        )
        try:
            with BC(connection) as bc:
                bc.tokens.acquire()
                companies = load_companies(connection, bc)
            results.append(("token (client credentials)", True, "acquired"))
            results.append(("companies", bool(companies), ", ".join(c.display_name or c.name for c in companies)))
        except BCBridgeError as exc:
            results.append(("connect", False, str(exc)))
        return results

    @staticmethod
    def _summary(console: Console, results: list[tuple[str, bool, str]]) -> None:
        table = Table(title="bcbridge demo")
        table.add_column("step")
        table.add_column("result")
        table.add_column("detail")
        for step, ok, detail in results:
            table.add_row(step, "[green]ok[/green]" if ok else "[red]failed[/red]", detail)
        console.print(table)
