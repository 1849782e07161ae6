"""``bcbridge apikey {create,list,revoke,rotate}``: API keys of the REST API's client apps.

``create NAME --scopes read,orders[,endpoints] [--company ID] [--connection NAME]
[--endpoints CODE,...] [--rate-limit N]`` prints the key alone on its last line (shown once;
only its hash is stored).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone

from bcbridge.models import SCOPES, ApiClient, Company


def _company(ident: str, connection: str | None) -> Company:
    rows = Company.objects.select_related("connection")
    if connection:
        rows = rows.filter(connection__name=connection)
    try:
        found = list(rows.filter(bc_id=uuid.UUID(ident)))
    except ValueError:
        found = [c for c in rows if ident.lower() in {c.name.lower(), c.display_name.lower()}]
    if len(found) != 1:
        raise CommandError(
            f"{'No' if not found else 'More than one'} company {ident!r}"
            f"{'' if connection else ' (pass --connection)'}; see `bcbridge connections`."
        )
    return found[0]


class Command(BaseCommand):
    help = "Create, list, revoke or rotate API keys of the REST API (/bcbridge/api/v1/)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a client app and print its key (last line).")
        create.add_argument("name")
        create.add_argument("--scopes", required=True, help=f"Comma-separated: {', '.join(SCOPES)}.")
        create.add_argument("--company", help="Restrict the key to this company (id or name).")
        create.add_argument("--connection", help="Connection of --company, when names repeat.")
        create.add_argument("--endpoints", default="", help="Endpoint codes the key may call (default: all).")
        create.add_argument("--rate-limit", type=int, default=600, help="Requests per minute (default 600).")
        sub.add_parser("list", help="List client apps (prefixes only).")
        for name in ("revoke", "rotate"):
            action = sub.add_parser(name, help=f"{name.capitalize()} the key of a client app.")
            action.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
            company = _company(options["company"], options["connection"]) if options["company"] else None
            if options["rate_limit"] < 1:
                raise CommandError("--rate-limit must be at least 1 request per minute.")
            try:
                client, key = ApiClient.create_with_key(
                    options["name"],
                    scopes,
                    company=company,
                    endpoints=[c.strip() for c in options["endpoints"].split(",") if c.strip()],
                    rate_limit=options["rate_limit"],
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            except IntegrityError:
                raise CommandError(f"An API client {options['name']!r} exists; revoke or rotate it.") from None
            scope_text = ",".join(client.scopes)
            where = f" for company {company.bc_id}" if company else ""
            self.stdout.write(f"API client {client.name!r} ({scope_text}){where}; the key is shown once:")
            self.stdout.write(key)
        elif action == "list":
            for client in ApiClient.objects.select_related("company"):
                state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"
                used = f"{client.last_used_at:%Y-%m-%d %H:%M}" if client.last_used_at else "never"
                company = client.company.bc_id if client.company else "all companies"
                self.stdout.write(
                    f"{client.name}\t{client.prefix}…\t{','.join(client.scopes)}\t{company}\t{state}\tlast used {used}"
                )
        else:
            client = ApiClient.objects.filter(name=options["name"]).first()
            if client is None:
                raise CommandError(f"No API client {options['name']!r}; see `bcbridge apikey list`.")
            if action == "revoke":
                client.revoked_at = timezone.now()
                client.save(update_fields=["revoked_at"])
                self.stdout.write(f"Revoked {client.name!r} ({client.prefix}…).")
            else:
                key = client.rotate()
                self.stdout.write(f"New key of {client.name!r}; the old one no longer works:")
                self.stdout.write(key)
