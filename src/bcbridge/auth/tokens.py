"""Access tokens for a connection: acquire, cache, refresh ahead of expiry, one at a time.

Grants (docs/bc/1-identity.md §1): authorization code with PKCE (S256) started by the admin's
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
from bcbridge.auth.revocation import Revocation, revoke_token
from bcbridge.conf import get_settings, get_transport
from bcbridge.exceptions import (
    AuthorizationRequired,
    FatalError,
    InvalidClientCredentials,
    TokenEndpointError,
    TransportError,
)
from bcbridge.models import Connection, GrantType, Prompt, TokenStatus

__all__ = ["OfflineAccessNotGranted", "PendingAuthorization", "TokenManager", "token_error"]

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


class OfflineAccessNotGranted(TokenEndpointError, FatalError):
    """An authorization-code sign-in succeeded but the provider issued no refresh token.

    The access token would die within the hour with nothing to renew it, so the sign-in is
    refused. Entra issues one whenever ``offline_access`` is requested (docs/bc/1-identity.md §1.2); a
    standard OpenID provider only when ``prompt`` contains ``consent`` (OpenID Connect
    Core 1.0 §11).
    """


class _NoRefreshToken(AuthorizationRequired):
    """No refresh token is stored: nothing was asked of the provider, the row is not rewritten."""


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
        """Ask the identity provider for a new token now, store it and return it.

        Never answers from the stored token: ``bcbridge connect`` and the admin's Get token
        use it to prove that the stored client id and secret work.

        Raises:
            InvalidClientCredentials: the provider refused the client id or secret.
            AuthorizationRequired: no usable refresh token (authorization code grant).
            TokenEndpointError, TransportError: any other refusal, or no answer.
        """
        return self._renew(None, force=True, always=True)

    def begin_authorization(self, connection: Connection, redirect_uri: str) -> PendingAuthorization:
        """Start the authorization code grant with PKCE S256 (docs/bc/1-identity.md §1.2).

        The connection's ``prompt`` is sent when set (Entra: ``select_account``; standard
        providers need ``consent`` to grant ``offline_access``).

        Raises:
            ConfigurationError, TransportError: the authority's discovery document is missing
                or unreachable.
        """
        endpoints = self._discover(connection)
        state = generate_token(32)
        verifier = generate_token(64)
        extra = {"prompt": connection.prompt} if connection.prompt else {}
        with self._client(connection, redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoints.authorization_endpoint, state=state, code_verifier=verifier, **extra
            )
        return PendingAuthorization(url=url, state=state, code_verifier=verifier, redirect_uri=redirect_uri)

    def complete_authorization(
        self, code: str, code_verifier: str, redirect_uri: str, *, by: str = ""
    ) -> dict[str, Any]:
        """Redeem an authorization code; store and return the token set.

        Raises:
            AuthorizationRequired: the code is expired, reused or the PKCE verifier does not
                match (AADSTS70008, 54005, 501481).
            OfflineAccessNotGranted: the provider answered without a refresh token; nothing
                is stored and the connection says why.
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
            if not token.get("refresh_token"):
                failure = _offline_access_refused(connection, token)
                connection.clear_token(TokenStatus.NEEDS_AUTHORIZATION, failure.description, failure.error)
                connection.save()
            else:
                failure = None
                connection.set_token(token, by=by)
                connection.authorized_at = connection.token_refreshed_at
                connection.save()
        if failure is not None:
            self._token = None
            raise failure
        self._token = token
        return token

    def deauthorize(self, reason: str = "Deauthorized.") -> Revocation:
        """Revoke the stored grant at the provider (RFC 7009) when it can, then forget it.

        The tokens are forgotten locally whatever the provider answers; the returned
        :class:`~bcbridge.auth.revocation.Revocation` says whether the provider revoked them.

        Raises:
            ConfigurationError, TransportError: discovery failed (the tokens are still
                forgotten).
        """
        with _process_lock(self.connection_id), transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            token = connection.token
            connection.clear_token(TokenStatus.NOT_AUTHORIZED, reason)
            connection.save(update_fields=[*_STATUS_FIELDS, "updated_at"])
        self._token = None
        endpoint = self._discover(connection).revocation_endpoint
        with self._client(connection) as client:
            return revoke_token(client, endpoint, token)

    # -- internals ----------------------------------------------------------------------

    def _expiring(self, token: dict[str, Any]) -> bool:
        expires_at = float(token.get("expires_at") or 0)
        return expires_at - time.time() <= self._margin

    def _renew(self, stale: str | None, *, force: bool = False, always: bool = False) -> dict[str, Any]:
        failure: TokenEndpointError | None = None
        with _process_lock(self.connection_id), transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            current: dict[str, Any] | None = connection.token
            if (
                not always
                and current is not None
                and not self._expiring(current)
                and (not force or current.get("access_token") != stale)
            ):
                self._token = current  # another thread or process renewed it meanwhile
                return current
            try:
                token = self._request_new_token(connection, current)
            except _NoRefreshToken as exc:
                failure = exc  # the provider's earlier reason, if any, stays as it is
                if connection.token_status not in {TokenStatus.NEEDS_AUTHORIZATION, TokenStatus.CREDENTIALS_REJECTED}:
                    connection.clear_token(TokenStatus.NEEDS_AUTHORIZATION, exc.description)
                    connection.save(update_fields=[*_STATUS_FIELDS, "updated_at"])
            except (AuthorizationRequired, InvalidClientCredentials) as exc:
                status = (
                    TokenStatus.CREDENTIALS_REJECTED
                    if isinstance(exc, InvalidClientCredentials)
                    else TokenStatus.NEEDS_AUTHORIZATION
                )
                connection.clear_token(status, exc.description or str(exc), exc.error)
                connection.save(update_fields=[*_STATUS_FIELDS, "updated_at"])
                failure = exc
            else:
                connection.set_token(token)
                connection.save(update_fields=[*_STATUS_FIELDS, "token_refreshed_at", "updated_at"])
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
            if connection.status_error:
                # The provider refused earlier: its reason, not ours, says what happened.
                raise _NoRefreshToken(connection.status_error, connection.status_reason)
            raise _NoRefreshToken(
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
            token_endpoint_auth_method=connection.client_auth_method or "client_secret_post",
            revocation_endpoint_auth_method=connection.client_auth_method or "client_secret_post",
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


_STATUS_FIELDS = ("token", "token_expires_at", "token_status", "status_error", "status_reason")


def _offline_access_refused(connection: Connection, token: dict[str, Any]) -> OfflineAccessNotGranted:
    granted = token.get("scope") or "(not stated)"
    if connection.prompt != Prompt.CONSENT:
        advice = (
            f"Standard OpenID providers grant offline_access only with prompt=consent (this connection sends "
            f"prompt={connection.prompt or 'none'}): set the connection's prompt to consent and press Authorize again."
        )
    else:
        advice = "Check that the app registration allows the refresh_token grant and the offline_access scope."
    return OfflineAccessNotGranted(
        "offline_access_not_granted",
        f"The identity provider issued no refresh token: offline_access was not granted (granted scope: "
        f"{granted}). {advice}",
    )


_KEPT = {"access_token", "refresh_token", "expires_at", "expires_in", "scope", "token_type", "id_token"}
