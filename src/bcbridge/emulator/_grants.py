"""Authorization codes and refresh tokens the emulated Entra ID has issued.

Codes are single-use and short-lived (docs/bc/1-identity.md §1.2,
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow); refresh
tokens are opaque, live ``refresh_token_lifetime`` seconds, are replaced by a new one on every
use without revoking the old one (soft rotation,
https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens) and can be revoked
per user.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

__all__ = ["AuthCode", "GrantError", "GrantStore", "RefreshGrant", "Subject"]


@dataclass(frozen=True)
class Subject:
    """Who a token is for: a user (delegated) or the app's service principal.

    Attributes:
        oid: Object id (GUID string); the per-user key of BC's operational limits.
        upn: User principal name (e-mail); ``None`` for the service principal.
        name: Display name; ``None`` for the service principal.
    """

    oid: str
    upn: str | None = None
    name: str | None = None


@dataclass
class AuthCode:
    """One issued authorization code and the authorize request it answers."""

    client_id: str
    redirect_uri: str
    scope: str
    subject: Subject
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    redeemed: bool = False


@dataclass
class RefreshGrant:
    """What a refresh token stands for."""

    client_id: str
    scope: str
    subject: Subject
    expires_at: float
    revoked: bool = False
    used: bool = False


class GrantError(Exception):
    """A code or refresh token cannot be redeemed; carries the Entra error to send."""

    def __init__(self, aadsts: int, description: str, error: str = "invalid_grant") -> None:
        super().__init__(description)
        self.error = error
        self.aadsts = aadsts
        self.description = description


@dataclass
class GrantStore:
    """Thread-safe storage of codes and refresh tokens (in memory; cleared by reset)."""

    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self._lock:
            self.codes.clear()
            self.refresh_tokens.clear()

    def issue_code(self, code: AuthCode) -> str:
        # Entra's codes are long opaque strings starting with a version marker
        value = "0.AAAA" + secrets.token_urlsafe(48)
        with self._lock:
            self.codes[value] = code
        return value

    def redeem_code(self, value: str, now: float) -> AuthCode:
        """Mark the code used and return it.

        Raises:
            GrantError: Unknown code (AADSTS70000), already redeemed (AADSTS54005) or
                expired (AADSTS70008).
        """
        with self._lock:
            code = self.codes.get(value)
            if code is None:
                raise GrantError(70000, "The provided value for the 'code' parameter is not valid.")
            if code.redeemed:
                raise GrantError(
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry "
                    "with a new valid code or use an existing refresh token.",
                )
            code.redeemed = True
            if now >= code.expires_at:
                raise GrantError(
                    70008,
                    "The provided authorization code or refresh token has expired "
                    "due to inactivity. Send a new interactive authorization "
                    "request for this user and resource.",
                )
            return code

    def issue_refresh_token(self, grant: RefreshGrant) -> str:
        value = "1.AAAA" + secrets.token_urlsafe(96)
        with self._lock:
            self.refresh_tokens[value] = grant
        return value

    def redeem_refresh_token(
        self, value: str, client_id: str, now: float, strict: bool
    ) -> RefreshGrant:
        """The grant behind a refresh token (marked used; with ``strict`` a used one fails).

        Raises:
            GrantError: Unknown or other client's token (AADSTS9002313), revoked, expired or
                (strict rotation) already used (AADSTS70008).
        """
        with self._lock:
            grant = self.refresh_tokens.get(value)
            if grant is None or grant.client_id != client_id:
                raise GrantError(9002313, "Invalid request. Request is malformed or invalid.")
            if grant.revoked or now >= grant.expires_at or (strict and grant.used):
                raise GrantError(
                    70008,
                    "The provided authorization code or refresh token has expired "
                    "due to inactivity. Send a new interactive authorization "
                    "request for this user and resource.",
                )
            grant.used = True
            return grant

    def revoke(self, user: str | None = None) -> int:
        """Revoke the refresh tokens of ``user`` (``oid`` or UPN, case-insensitive), or all.

        Returns:
            How many live tokens were revoked.
        """
        wanted = user.lower() if user else None
        count = 0
        with self._lock:
            for grant in self.refresh_tokens.values():
                subject = grant.subject
                if grant.revoked:
                    continue
                if wanted is None or wanted in {subject.oid.lower(), (subject.upn or "").lower()}:
                    grant.revoked = True
                    count += 1
        return count
