"""Access tokens for a connection: acquire, cache, refresh ahead of expiry, one at a time.

Grants (API-FACTS §1): authorization code with PKCE (S256) started by the admin's
Authorize button, refresh token (Entra returns a new refresh token on every use; the
newest is always the one stored), and client credentials (no refresh token; a new token
is simply requested).

Exactly one refresh is in flight per connection, across threads (a process lock) and
processes (``select_for_update`` on the connection row; on SQLite the ready site's
``IMMEDIATE`` transactions give the same exclusion). A caller that waited for the lock
re-reads the row and uses the token the winner stored instead of refreshing again.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():  # Authlib 1.9 announces an httpx2 migration on import
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
from django.db import transaction

from bcbridge.auth.discovery import OpenIDConfiguration, discover
from bcbridge.conf import get_settings, get_transport
from bcbridge.exceptions import (
    AuthorizationRequired,
    InvalidClientCredentials,
    TokenEndpointError,
    TransportError,
)
from bcbridge.models import Connection, GrantType, TokenStatus

__all__ = ["PendingAuthorization", "TokenManager", "token_error"]

_AADSTS = re.compile(r"AADSTS(\d+)")
_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(connection_id: int) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(connection_id, threading.Lock())


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization-code sign-in in progress.

    Attributes:
        url: Where to send the browser (the authority's authorize endpoint).
        state: Random value the callback must echo (CSRF protection).
        code_verifier: PKCE verifier kept server-side; its S256 challenge is in ``url``.
        redirect_uri: The callback URL sent to Entra (must be sent again when redeeming).
    """

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


def token_error(error: str, description: str, status: int = 400) -> TokenEndpointError:
    """Map a token-endpoint error to the exception that says what to do next.

    ``invalid_grant`` (expired or revoked grant, AADSTS70008/50173/54005/501481) needs a
    person to authorize again; ``invalid_client``/``unauthorized_client`` (wrong secret
    AADSTS7000215, expired secret 7000222, unknown app 700016) needs the credentials fixed.
    """
    codes = tuple(int(code) for code in _AADSTS.findall(description or ""))[:1]
    if error == "invalid_grant":
        return AuthorizationRequired(error, description, codes, status)
    if error in {"invalid_client", "unauthorized_client"}:
        return InvalidClientCredentials(error, description, codes, status)
    return TokenEndpointError(error, description, codes, status)


class TokenManager:
    """Tokens for one :class:`~bcbridge.models.Connection`.

    Args:
        connection: The connection; only its primary key and OAuth fields are read.
        transport: httpx transport for the authority (default: ``HTTP_TRANSPORT`` setting,
            else the network).

    Thread-safe: one instance may serve many threads.
    """

    def __init__(self, connection: Connection, *, transport: httpx.BaseTransport | None = None) -> None:
        if connection.pk is None:
            raise ValueError("Save the connection before asking for tokens.")
        self.connection_id: int = connection.pk
        self._transport = transport if transport is not None else get_transport(connection)
        self._token: dict[str, Any] | None = connection.token
        self._margin = get_settings().TOKEN_REFRESH_MARGIN
        self.refresh_count = 0  # token requests this instance made (for tests and metrics)

    # -- public API ---------------------------------------------------------------------

    def access_token(self) -> str:
        """A bearer token valid for at least the refresh margin, renewing it if needed.

        Raises:
            AuthorizationRequired: no usable grant; a person must press Authorize.
            InvalidClientCredentials: the client id or secret is wrong.
            TokenEndpointError, TransportError: the authority refused or is unreachable.
        """
        token = self._token
        if token and not self._expiring(token):
            return str(token["access_token"])
        stale = token.get("access_token") if token else None
        return str(self._renew(stale)["access_token"])

    def refresh_after_401(self, rejected_access_token: str) -> str:
        """A token other than ``rejected_access_token``, which BC just answered 401 to."""
        return str(self._renew(rejected_access_token, force=True)["access_token"])

    def acquire(self) -> dict[str, Any]:
        """Request a new token now (client credentials, or refresh), store it, return it."""
        return self._renew(None, force=True)

    def begin_authorization(self, connection: Connection, redirect_uri: str) -> PendingAuthorization:
        """Start the authorization code grant with PKCE S256 (API-FACTS §1.2)."""
        endpoints = self._discover(connection)
        state = generate_token(32)
        verifier = generate_token(64)
        with self._client(connection, redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoints.authorization_endpoint, state=state, code_verifier=verifier, prompt="select_account"
            )
        return PendingAuthorization(url=url, state=state, code_verifier=verifier, redirect_uri=redirect_uri)

    def complete_authorization(
        self, code: str, code_verifier: str, redirect_uri: str, *, by: str = ""
    ) -> dict[str, Any]:
        """Redeem an authorization code; store and return the token set.

        Raises:
            AuthorizationRequired: the code is expired, reused or the PKCE verifier does not
                match (AADSTS70008, 54005, 501481).
        """
        with _process_lock(self.connection_id), transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            token = self._call_token_endpoint(
                connection,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
            connection.set_token(token, by=by)
            connection.authorized_at = connection.token_refreshed_at
            connection.save()
        self._token = token
        return token

    # -- internals ----------------------------------------------------------------------

    def _expiring(self, token: dict[str, Any]) -> bool:
        expires_at = float(token.get("expires_at") or 0)
        return expires_at - time.time() <= self._margin

    def _renew(self, stale: str | None, *, force: bool = False) -> dict[str, Any]:
        failure: TokenEndpointError | None = None
        with _process_lock(self.connection_id), transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            current: dict[str, Any] | None = connection.token
            if current and not self._expiring(current) and (not force or current.get("access_token") != stale):
                self._token = current  # another thread or process renewed it meanwhile
                return current
            try:
                token = self._request_new_token(connection, current)
            except (AuthorizationRequired, InvalidClientCredentials) as exc:
                connection.clear_token(TokenStatus.NEEDS_AUTHORIZATION, str(exc))
                connection.save(
                    update_fields=["token", "token_expires_at", "token_status", "status_reason", "updated_at"]
                )
                failure = exc
            else:
                connection.set_token(token)
                connection.save(
                    update_fields=[
                        "token",
                        "token_expires_at",
                        "token_status",
                        "status_reason",
                        "token_refreshed_at",
                        "updated_at",
                    ]
                )
        if failure is not None:
            self._token = None
            raise failure
        self._token = token
        return token

    def _request_new_token(self, connection: Connection, current: dict[str, Any] | None) -> dict[str, Any]:
        if connection.grant_type == GrantType.CLIENT_CREDENTIALS:
            return self._call_token_endpoint(connection, grant_type="client_credentials")
        refresh_token = (current or {}).get("refresh_token")
        if not refresh_token:
            raise AuthorizationRequired(
                "authorization_required",
                "No refresh token is stored: press Authorize on the connection to sign in.",
            )
        token = self._call_token_endpoint(connection, grant_type="refresh_token", refresh_token=refresh_token)
        token.setdefault("refresh_token", refresh_token)  # keep the old one if Entra sent none
        return token

    def _discover(self, connection: Connection) -> OpenIDConfiguration:
        settings = get_settings()
        return discover(
            connection.authority_url,
            connection.tenant,
            transport=self._transport,
            timeout=settings.HTTP_TIMEOUT,
            max_age=settings.DISCOVERY_CACHE_SECONDS,
        )

    def _client(self, connection: Connection, **kwargs: Any) -> OAuth2Client:
        return OAuth2Client(
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            scope=" ".join(connection.scope_list),
            token_endpoint_auth_method="client_secret_post",
            code_challenge_method="S256",
            transport=self._transport,
            timeout=get_settings().HTTP_TIMEOUT,
            **kwargs,
        )

    def _call_token_endpoint(self, connection: Connection, **params: Any) -> dict[str, Any]:
        endpoint = self._discover(connection).token_endpoint
        self.refresh_count += 1
        try:
            with self._client(connection) as client:
                if params.get("grant_type") == "refresh_token":
                    token = client.refresh_token(endpoint, refresh_token=params["refresh_token"])
                else:
                    token = client.fetch_token(endpoint, **params)
        except OAuthError as exc:
            raise token_error(exc.error or "unknown_error", exc.description or "") from None
        except httpx.HTTPStatusError as exc:
            raise TransportError(
                f"The token endpoint answered HTTP {exc.response.status_code}; try again later."
            ) from None
        except httpx.HTTPError as exc:
            raise TransportError(f"Cannot reach the token endpoint {endpoint}: {exc}") from None
        result = dict(token)
        if "expires_at" not in result and "expires_in" in result:
            result["expires_at"] = int(time.time()) + int(result["expires_in"])
        return {k: v for k, v in result.items() if k in _KEPT}


_KEPT = {"access_token", "refresh_token", "expires_at", "expires_in", "scope", "token_type", "id_token"}
