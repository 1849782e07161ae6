"""Handles on the running peers: what a test needs to drive and to judge them.

Everything a test asserts about the identity provider is read from the provider itself:
its discovery document, its own event log (``/_peer/events``), RFC 7662 introspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._servers import NodeServer

__all__ = ["CapPeer", "ClientRegistration", "OidcPeer"]


@dataclass(frozen=True)
class ClientRegistration:
    client_id: str
    client_secret: str
    auth_method: str


class _Forms(HTMLParser):
    """The forms of a page: [(action, {name: value})]."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and values.get("name") and self.forms:
            self.forms[-1][1][values["name"]] = values.get("value", "")


class OidcPeer:
    """panva oidc-provider, Entra-style: ``authority`` + ``tenant`` as a connection has them."""

    def __init__(self, server: NodeServer) -> None:
        self.server = server
        self.authority: str = server.url
        self.tenant: str = server.ready["tenant"]
        self.issuer: str = server.ready["issuer"]
        self.scope: str = server.ready["scope"]
        registrations = [
            (c, ClientRegistration(c["client_id"], c["client_secret"], c["token_endpoint_auth_method"]))
            for c in server.ready["clients"]
        ]
        self.clients = {c["token_endpoint_auth_method"]: r for c, r in registrations if c["application_type"] == "web"}
        #: RFC 8252 loopback client: redirect URI http://127.0.0.1:{any port}/bcbridge/oauth/callback/
        self.loopback = next(r for c, r in registrations if c["application_type"] == "native")

    def client(self, auth_method: str = "client_secret_post") -> ClientRegistration:
        return self.clients[auth_method]

    @cached_property
    def discovery(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.issuer}/.well-known/openid-configuration")
        answer.raise_for_status()
        return dict(answer.json())

    def events(self) -> list[dict[str, Any]]:
        """The provider's own ``grant.success``/``grant.error`` events, oldest first."""
        return list(httpx.get(f"{self.authority}/_peer/events").json()["events"])

    def grants(self, grant_type: str, since: int = 0) -> int:
        """Successful grants of ``grant_type`` among events ``[since:]``."""
        return sum(1 for e in self.events()[since:] if e.get("grant_type") == grant_type and "error" not in e)

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 introspection, authenticated as the basic client."""
        basic = self.client("client_secret_basic")
        answer = httpx.post(
            self.discovery["introspection_endpoint"],
            data={"token": token},
            auth=(basic.client_id, basic.client_secret),
        )
        answer.raise_for_status()
        return dict(answer.json())

    def revoke(self, token: str, client: ClientRegistration, hint: str = "refresh_token") -> None:
        """RFC 7009 revocation as ``client`` (the token's owner)."""
        answer = httpx.post(
            self.discovery["revocation_endpoint"],
            data={"token": token, "token_type_hint": hint},
            auth=(client.client_id, client.client_secret),
        )
        assert answer.status_code == 200, answer.text

    def client_credentials_token(self, client: ClientRegistration | None = None) -> str:
        client = client or self.client("client_secret_basic")
        answer = httpx.post(
            self.discovery["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": self.scope},
            auth=(client.client_id, client.client_secret),
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def sign_in(self, authorize_url: str, login: str = "pat@cronus.test") -> str:
        """Walk the provider's login and consent forms like a browser; return the final redirect.

        Follows the provider's own redirects and submits each form it shows (login, then
        consent) until it redirects away from the provider (to the client's redirect URI).
        """
        host = urlsplit(self.authority).netloc
        with httpx.Client() as browser:
            answer = browser.get(authorize_url)
            for _ in range(12):
                if answer.is_redirect:
                    target = urljoin(str(answer.url), answer.headers["location"])
                    if urlsplit(target).netloc != host:
                        return target
                    answer = browser.get(target)
                    continue
                assert answer.status_code == 200, answer.text[:1000]
                parser = _Forms()
                parser.feed(answer.text)
                assert parser.forms, answer.text[:1000]
                action, fields = parser.forms[0]
                if "login" in fields:  # the login form; the consent form has no inputs to fill
                    fields.update({"login": login, "password": "any"})
                answer = browser.post(urljoin(str(answer.url), action), data=fields)
        raise AssertionError("the provider's sign-in did not end in a redirect to the client")


class CapPeer:
    """SAP CAP serving BC's API v2.0 layout: ``api_url`` + ``tenant`` + ``production``."""

    environment = "production"

    def __init__(self, server: NodeServer, oidc: OidcPeer) -> None:
        self.server = server
        self.oidc = oidc
        self.api_url: str = server.url
        self.api_root: str = server.ready["api"].rstrip("/") + "/"

    def http(self) -> httpx.Client:
        """An httpx client at the API root with a valid bearer token (client credentials)."""
        token = self.oidc.client_credentials_token()
        return httpx.Client(base_url=self.api_root, headers={"Authorization": f"Bearer {token}"})
