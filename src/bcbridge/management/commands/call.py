"""``bcbridge call CODE [--connection NAME] [--data JSON]``: call a registry endpoint, print JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.management._options import the_connection


class Command(BaseCommand):
    help = "Call the endpoint CODE of a connection and print BC's JSON answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--connection", help="Connection name (default: the only connection).")
        parser.add_argument("--data", help="JSON body (POST/PATCH) or placeholder values (GET).")
        parser.add_argument("--company", help="Company id or name (default: the selected company).")
        parser.add_argument("--etag", help="If-Match for PATCH/DELETE.")
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="A URL placeholder value.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = the_connection(options["connection"]).name
        try:
            payload = json.loads(options["data"]) if options["data"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--data is not valid JSON: {exc}") from exc
        values = {}
        for item in options["set"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set {item!r}: use NAME=VALUE.")
            values[key] = value
        try:
            with BC.for_connection(name) as bc:
                result = bc.call(options["code"], payload, company=options["company"], etag=options["etag"], **values)
        except BCBridgeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) if result is not None else "(no content)")
