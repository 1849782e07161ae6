"""Token revocation (RFC 7009) for Deauthorize.

Entra ID publishes no ``revocation_endpoint`` (its refresh tokens are revoked by an admin or
a password change, docs/bc/1-identity.md §1.2), so against Entra Deauthorize only forgets the tokens.
A provider whose discovery document lists one (RFC 8414 §2 ``revocation_endpoint``) is asked
to revoke the refresh token (which, RFC 7009 §2.1, may also end the access tokens of the same
grant), or the access token when there is no refresh token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Revocation", "revoke_token"]


@dataclass(frozen=True)
class Revocation:
    """What Deauthorize did at the identity provider.

    Attributes:
        revoked: The provider confirmed the revocation (HTTP 200, RFC 7009 §2.2).
        endpoint: The revocation endpoint used, ``""`` when discovery publishes none.
        detail: One sentence for the admin: what was revoked, or why nothing was.
    """

    revoked: bool
    endpoint: str
    detail: str


def revoke_token(client: Any, endpoint: str, token: dict[str, Any] | None) -> Revocation:
    """Ask ``endpoint`` to revoke ``token``'s refresh token (else its access token).

    Args:
        client: An Authlib ``OAuth2Client`` set up with the connection's client
            authentication (RFC 7009 §2.1: the client authenticates as at the token endpoint).
        endpoint: The discovery document's ``revocation_endpoint`` (``""``: none published).
        token: The stored token set, or ``None``.

    Returns:
        A :class:`Revocation`; never raises for the provider's answer, so that the local
        tokens are forgotten whatever the provider says.
    """
    if not endpoint:
        return Revocation(False, "", "The identity provider publishes no revocation endpoint; tokens were forgotten.")
    if not token or not (token.get("refresh_token") or token.get("access_token")):
        return Revocation(False, endpoint, "No token was stored, so there was nothing to revoke.")
    kind = "refresh_token" if token.get("refresh_token") else "access_token"
    try:
        response = client.revoke_token(endpoint, token=token[kind], token_type_hint=kind)
    except httpx.HTTPError as exc:
        return Revocation(False, endpoint, f"The revocation endpoint {endpoint} could not be reached ({exc}).")
    if response.status_code == 200:
        return Revocation(True, endpoint, f"The identity provider revoked the {kind.replace('_', ' ')}.")
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error", "") if isinstance(body, dict) else ""
    description = body.get("error_description", "") if isinstance(body, dict) else ""
    return Revocation(
        False,
        endpoint,
        f"The identity provider refused the revocation (HTTP {response.status_code} {error}: {description})".strip()
        + ".",
    )
