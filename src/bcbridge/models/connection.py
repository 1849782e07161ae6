"""Connections to BC environments and the companies loaded from them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.models.fields import EncryptedJSONField, EncryptedTextField

__all__ = ["ClientAuthMethod", "Company", "Connection", "GrantType", "Prompt", "TokenStatus"]


def _default_api_url() -> str:
    return get_settings().DEFAULT_API_URL


def _default_authority() -> str:
    return get_settings().DEFAULT_AUTHORITY


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (a user signs in)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials (service to service)"


class TokenStatus(models.TextChoices):
    """Where a connection's token stands and what fixes it.

    ``needs_authorization``: the grant is gone (``invalid_grant``); a person presses Authorize.
    ``credentials_rejected``: the identity provider refused the app itself (``invalid_client``,
    ``unauthorized_client``); Authorize cannot help, the client id or secret must be fixed.
    """

    NOT_AUTHORIZED = "not_authorized", "Not authorized"
    VALID = "valid", "Valid"
    EXPIRING = "expiring", "Expiring"
    NEEDS_AUTHORIZATION = "needs_authorization", "Needs authorization"
    CREDENTIALS_REJECTED = "credentials_rejected", "Client credentials rejected"


class Prompt(models.TextChoices):
    """The OpenID ``prompt`` sent with Authorize (OpenID Connect Core 1.0 §3.1.2.1).

    Entra understands ``select_account`` and still issues refresh tokens with it; a standard
    OpenID provider (panva oidc-provider, Keycloak...) issues a refresh token for
    ``offline_access`` only with ``consent`` (OpenID Connect Core §11) and may refuse
    ``select_account`` as unsupported.
    """

    SELECT_ACCOUNT = "select_account", "select_account (Entra ID: choose the account)"
    CONSENT = "consent", "consent (standard OpenID providers: needed for a refresh token)"
    LOGIN = "login", "login (always ask for credentials)"
    NONE = "", "none (send no prompt)"


class ClientAuthMethod(models.TextChoices):
    """How the client secret reaches the token endpoint (RFC 6749 §2.3.1)."""

    POST = "client_secret_post", "client_secret_post (in the form body; Entra's usual)"
    BASIC = "client_secret_basic", "client_secret_basic (HTTP Basic)"


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
    prompt = models.CharField(
        max_length=32,
        choices=Prompt.choices,
        default=Prompt.SELECT_ACCOUNT,
        blank=True,
        help_text="Sent with Authorize. Entra: select_account; other OpenID providers need consent for a "
        "refresh token.",
    )
    client_auth_method = models.CharField(
        "client authentication",
        max_length=32,
        choices=ClientAuthMethod.choices,
        default=ClientAuthMethod.POST,
        help_text="How the secret is sent to the token endpoint, as the app is registered.",
    )
    enabled = models.BooleanField(default=True)

    token = EncryptedJSONField(null=True, blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_status = models.CharField(
        max_length=32, choices=TokenStatus.choices, default=TokenStatus.NOT_AUTHORIZED, editable=False
    )
    status_error = models.CharField(
        max_length=100, blank=True, editable=False, help_text="The identity provider's OAuth error code, if any."
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
        if self.token_status in _FAILED or not self.token:
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
        self.status_error = ""
        self.status_reason = ""
        self.token_refreshed_at = timezone.now()
        if by:
            self.authorized_by = by

    def clear_token(self, status: str = TokenStatus.NOT_AUTHORIZED, reason: str = "", error: str = "") -> None:
        """Forget the token set (does not save).

        Args:
            status: The new :class:`TokenStatus`.
            reason: Why, for people (the identity provider's ``error_description`` if it refused).
            error: The identity provider's OAuth ``error`` code (``invalid_grant``, ...), if any.
        """
        self.token = None
        self.token_expires_at = None
        self.token_status = status
        self.status_error = error
        self.status_reason = reason


_FAILED = {TokenStatus.NEEDS_AUTHORIZATION, TokenStatus.CREDENTIALS_REJECTED}


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
