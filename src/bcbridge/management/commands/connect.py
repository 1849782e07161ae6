"""``bcbridge connect NAME ...``: create or update a connection (DESIGN.md's fixed interface)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError, InvalidClientCredentials, TokenEndpointError
from bcbridge.models import ClientAuthMethod, Connection, GrantType, Prompt
from bcbridge.sync.companies import load_companies, select_companies


class Command(BaseCommand):
    help = (
        "Create or update a BC connection. With --grant client_credentials it also acquires a "
        "token and loads the environment's companies; with authorization_code, press Authorize "
        "on the connection in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Connection name (letters, digits, - and _).")
        parser.add_argument("--api-url", help="BC API host (default https://api.businesscentral.dynamics.com).")
        parser.add_argument("--authority", help="Entra authority (default https://login.microsoftonline.com).")
        parser.add_argument("--tenant", help="Entra tenant id (GUID) or domain.")
        parser.add_argument("--environment", help="BC environment name (default production).")
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret", help="Stored encrypted.")
        parser.add_argument("--grant", choices=[g.value for g in GrantType])
        parser.add_argument("--redirect-uri", help="For the authorization code grant.")
        parser.add_argument(
            "--prompt",
            choices=[p.value or "none" for p in Prompt],
            help="OpenID prompt sent with Authorize (default select_account, Entra's; standard OpenID "
            "providers need consent to issue a refresh token).",
        )
        parser.add_argument(
            "--client-auth",
            choices=[m.value for m in ClientAuthMethod],
            help="How the secret reaches the token endpoint (default client_secret_post).",
        )
        parser.add_argument(
            "--company", action="append", default=[], metavar="ID", help="Company id or name to select (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        connection = Connection.objects.filter(name=name).first()
        created = connection is None
        if connection is None:
            missing = [flag for flag, key in (("--tenant", "tenant"), ("--client-id", "client_id")) if not options[key]]
            if missing:
                raise CommandError(f"A new connection needs {' and '.join(missing)}.")
            connection = Connection(name=name)
        mapping = {
            "api_url": "api_url",
            "authority": "authority_url",
            "tenant": "tenant",
            "environment": "environment",
            "client_id": "client_id",
            "client_secret": "client_secret",
            "grant": "grant_type",
            "redirect_uri": "redirect_uri",
            "client_auth": "client_auth_method",
        }
        if options["prompt"] is not None:
            connection.prompt = "" if options["prompt"] == "none" else options["prompt"]
        for option, field in mapping.items():
            if options[option] is not None:
                setattr(connection, field, options[option])
        if connection.grant_type == GrantType.CLIENT_CREDENTIALS and not connection.client_secret:
            raise CommandError("The client_credentials grant needs --client-secret.")
        try:
            connection.full_clean(exclude=["client_secret"])
        except Exception as exc:
            raise CommandError(f"Invalid connection: {exc}") from exc
        if connection.grant_type != GrantType.CLIENT_CREDENTIALS:
            connection.save()
            self.stdout.write(f"{'Created' if created else 'Updated'} connection {name!r}.")
            if options["company"]:
                select_companies(connection, options["company"])  # companies loaded by an earlier sign-in
            self.stdout.write("Press Authorize on the connection in the admin to sign in and load its companies.")
            return
        try:
            # Saved only if the identity provider accepts the credentials: a wrong secret
            # must neither look like success nor leave a broken connection behind.
            with transaction.atomic():
                connection.save()
                with BC(connection) as bc:
                    bc.tokens.acquire()  # always asks the provider, never the stored token
        except BCBridgeError as exc:
            raise CommandError(self._identity_failure(connection, created, exc)) from exc
        self.stdout.write(f"{'Created' if created else 'Updated'} connection {name!r}.")
        try:
            with BC(connection) as bc:
                companies = load_companies(connection, bc, select=options["company"])
        except BCBridgeError as exc:
            raise CommandError(
                f"Connection saved and token acquired, but BC at {connection.api_url} could not be reached: {exc}"
            ) from exc
        self.stdout.write(f"Token acquired. {len(companies)} companies:")
        for company in companies:
            mark = "*" if company.selected else " "
            self.stdout.write(f" {mark} {company.bc_id}  {company.display_name or company.name}")
        if not any(c.selected for c in companies):
            self.stdout.write("Select companies with --company ID (or in the admin).")

    @staticmethod
    def _identity_failure(connection: Connection, created: bool, exc: BCBridgeError) -> str:
        kept = "Nothing was saved." if created else "The connection was left as it was."
        where = f"the identity provider at {connection.authority_url} (tenant {connection.tenant})"
        if isinstance(exc, InvalidClientCredentials):
            return f"{where} rejected the client credentials ({exc}). {kept} Fix --client-id or --client-secret."
        if isinstance(exc, TokenEndpointError):
            return f"No token from {where}: {exc}. {kept}"
        return f"Cannot get a token from {where}: {exc}. {kept} Check --authority and --tenant."
