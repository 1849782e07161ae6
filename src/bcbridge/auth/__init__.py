"""OAuth 2.0 against Entra ID or any OpenID provider (Authlib): token manager and the httpx auth flow for BC calls."""

from __future__ import annotations

from bcbridge.auth.discovery import OpenIDConfiguration, discover
from bcbridge.auth.flow import BCAuth
from bcbridge.auth.revocation import Revocation
from bcbridge.auth.tokens import OfflineAccessNotGranted, PendingAuthorization, TokenManager

__all__ = [
    "BCAuth",
    "OfflineAccessNotGranted",
    "OpenIDConfiguration",
    "PendingAuthorization",
    "Revocation",
    "TokenManager",
    "discover",
]
