"""One interface over the two identity providers the identity tests run against.

``emulator``: bcbridge's own Entra ID emulator (AADSTS codes, no revocation endpoint, like
Entra), served on a loopback socket. ``oidc-provider``: panva oidc-provider (a certified
OpenID Provider), configured Entra-style, with CAP as the BC behind it. A test that takes
the ``identity`` fixture runs against both, so a difference shows in the test name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ..signin import sign_in as emulator_sign_in

__all__ = ["Identity"]


@dataclass
class Identity:
    """What a test needs from an identity provider (and the BC behind it)."""

    name: str
    authority: str
    tenant: str
    client_id: str
    client_secret: str
    api_url: str
    environment: str
    prompt: str  # the prompt this provider needs for a refresh token
    revocation: bool  # discovery publishes a revocation endpoint
    provider: Any  # OidcPeer or the Emulator

    # -- connections ---------------------------------------------------------------------

    def connection(self, name: str = "peer", **fields: Any) -> Any:
        from bcbridge.models import Connection

        values = {
            "api_url": self.api_url,
            "authority_url": self.authority,
            "tenant": self.tenant,
            "environment": self.environment,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_type": "client_credentials",
            **fields,
        }
        return Connection.objects.create(name=name, **values)

    def connect_args(self, name: str, **overrides: str) -> list[str]:
        options = {
            "--api-url": self.api_url,
            "--authority": self.authority,
            "--tenant": self.tenant,
            "--environment": self.environment,
            "--client-id": self.client_id,
            "--client-secret": self.client_secret,
            "--grant": "client_credentials",
            **overrides,
        }
        return [name, *(part for item in options.items() for part in item)]

    # -- the provider's side -------------------------------------------------------------

    def sign_in(self, authorize_url: str) -> str:
        """Complete the provider's sign-in pages; the redirect URL to bcbridge's callback."""
        if self.name == "oidc-provider":
            return str(self.provider.sign_in(authorize_url))
        with httpx.Client() as browser:
            return emulator_sign_in(browser, authorize_url)

    def token_requests(self) -> int:
        """Token endpoint requests the provider has answered (success or error)."""
        if self.name == "oidc-provider":
            return len(self.provider.events())
        return sum(1 for e in self.provider.control.requests() if e["path"].split("?")[0].endswith("/token"))

    def refresh_token_grants(self) -> int:
        """Refresh tokens the provider has issued so far (one per successful code or refresh grant)."""
        if self.name == "oidc-provider":
            return self.provider.grants("refresh_token") + self.provider.grants("authorization_code")
        return len(self.provider.identity.grants.refresh_tokens)

    def revoke_grant(self, connection: Any) -> None:
        """Revoke the connection's grant at the provider (an admin's or a user's revoke)."""
        if self.name == "oidc-provider":
            self.provider.revoke(connection.token["refresh_token"], self.provider.client())
        else:
            self.provider.identity.revoke_refresh_tokens()


def code_of(redirect: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(redirect).query)
