"""OAuth 2.0 against Entra ID (Authlib): token manager and the httpx auth flow for BC calls."""

from __future__ import annotations

from bcbridge.auth.discovery import OpenIDConfiguration, discover
from bcbridge.auth.flow import BCAuth
from bcbridge.auth.tokens import PendingAuthorization, TokenManager

__all__ = ["BCAuth", "OpenIDConfiguration", "PendingAuthorization", "TokenManager", "discover"]
