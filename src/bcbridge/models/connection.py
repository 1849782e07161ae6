"""Connections to BC environments and the companies loaded from them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.models.fields import EncryptedJSONField, EncryptedTextField

__all__ = ["Company", "Connection", "GrantType", "TokenStatus"]


def _default_api_url() -> str:
    return get_settings().DEFAULT_API_URL


def _default_authority() -> str:
    return get_settings().DEFAULT_AUTHORITY


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (a user signs in)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials (service to service)"


class TokenStatus(models.TextChoices):
    NOT_AUTHORIZED = "not_authorized", "Not authorized"
    VALID = "valid", "Valid"
    EXPIRING = "expiring", "Expiring"
    NEEDS_AUTHORIZATION = "needs_authorization", "Needs authorization"


class Connection(models.Model):
    """One BC environment reached with one Entra app registration.

    The client secret and the token set are encrypted at rest; the token set is a dict
    ``{"access_token", "refresh_token"?, "expires_at" (Unix seconds), "scope", "token_type"}``
    and is written only by :mod:`bcbridge.auth` under a row lock.
    """

    name = models.SlugField(max_length=80, unique=True, help_text="Short name used by the CLI and code.")
    api_url = models.URLField(
        "API base URL", default=_default_api_url, help_text="BC API host, e.g. https://api.businesscentral.dynamics.com"
    )
    authority_url = models.URLField(
        "authority URL",
        default=_default_authority,
        help_text="Entra ID authority, e.g. https://login.microsoftonline.com",
    )
    tenant = models.CharField(max_length=255, help_text="Entra tenant id (GUID) or a verified domain name.")
    environment = models.CharField(max_length=100, default="production", help_text="BC environment name.")
    client_id = models.CharField(
        "client id", max_length=100, help_text="Application (client) id of the app registration."
    )
    client_secret = EncryptedTextField("client secret", blank=True, help_text="Stored encrypted; never shown in full.")
    grant_type = models.CharField(max_length=32, choices=GrantType.choices, default=GrantType.CLIENT_CREDENTIALS)
    redirect_uri = models.URLField(
        "redirect URI", blank=True, help_text="Blank: this site's /bcbridge/oauth/callback/ URL."
    )
    scopes = models.CharField(
        max_length=500,
        blank=True,
        help_text="Space-separated; blank: the BC scope (plus offline_access for the authorization code grant).",
    )
    enabled = models.BooleanField(default=True)

    token = EncryptedJSONField(null=True, blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_status = models.CharField(
        max_length=32, choices=TokenStatus.choices, default=TokenStatus.NOT_AUTHORIZED, editable=False
    )
    status_reason = models.TextField(blank=True, editable=False)
    authorized_at = models.DateTimeField(null=True, blank=True, editable=False)
    authorized_by = models.CharField(max_length=255, blank=True, editable=False)
    token_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_list(self) -> list[str]:
        """The scopes requested from Entra for this connection's grant."""
        if self.scopes.strip():
            return self.scopes.split()
        scopes = [get_settings().BC_SCOPE]
        if self.grant_type == GrantType.AUTHORIZATION_CODE:
            scopes.append("offline_access")
        return scopes

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    def current_token_status(self, now: float | None = None) -> str:
        """Status for display: valid, expiring (renewable within the margin) or a stored state."""
        if self.token_status == TokenStatus.NEEDS_AUTHORIZATION or not self.token:
            return self.token_status if self.token_status != TokenStatus.VALID else TokenStatus.NOT_AUTHORIZED
        now = time.time() if now is None else now
        expires_at = float(self.token.get("expires_at") or 0)
        if expires_at - now > get_settings().TOKEN_REFRESH_MARGIN:
            return TokenStatus.VALID
        return TokenStatus.EXPIRING

    def set_token(self, token: dict[str, Any], *, by: str = "") -> None:
        """Store a token set from Entra (does not save)."""
        self.token = token
        expires_at = token.get("expires_at")
        self.token_expires_at = datetime.fromtimestamp(float(expires_at), tz=UTC) if expires_at else None
        self.token_status = TokenStatus.VALID
        self.status_reason = ""
        self.token_refreshed_at = timezone.now()
        if by:
            self.authorized_by = by

    def clear_token(self, status: str = TokenStatus.NOT_AUTHORIZED, reason: str = "") -> None:
        """Forget the token set (does not save)."""
        self.token = None
        self.token_expires_at = None
        self.token_status = status
        self.status_reason = reason


class Company(models.Model):
    """A company of the connection's environment, as ``GET companies`` returned it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="companies")
    bc_id = models.UUIDField("BC id", help_text="The company's systemId, used in companies({id}).")
    name = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    business_profile_id = models.CharField(max_length=255, blank=True)
    system_version = models.CharField(max_length=64, blank=True)
    selected = models.BooleanField(default=False, help_text="Mirror and push for this company.")
    present = models.BooleanField(default=True, help_text="False when BC no longer lists it.")
    raw = models.JSONField(default=dict, blank=True)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connection", "name"]
        verbose_name_plural = "companies"
        constraints = [models.UniqueConstraint(fields=["connection", "bc_id"], name="bcbridge_company_unique")]

    def __str__(self) -> str:
        return self.display_name or self.name
