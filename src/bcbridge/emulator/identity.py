"""The emulated Microsoft Entra ID directory of one BC tenant (docs/bc/1-identity.md §1).

Endpoints (``{tenant}`` is the tenant GUID, one of ``EmulatorConfig.tenant_domains``, or
``common``/``organizations``/``consumers`` where Entra accepts them):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the OpenID discovery document.
* ``GET /{tenant}/discovery/v2.0/keys``: the JWKS with the RS256 signing key.
* ``GET|POST /{tenant}/oauth2/v2.0/authorize``: sign-in and consent page (:mod:`._signin`).
* ``POST /{tenant}/oauth2/v2.0/token``: the four grants (:mod:`._token`).
* ``POST /{tenant}/oauth2/v2.0/devicecode`` and the ``/common/oauth2/deviceauth`` page:
  the device code flow (:mod:`._device`).
* ``GET /{tenant}/discovery/instance?api-version=1.1&authorization_endpoint=...``: the
  instance discovery MSAL calls (:meth:`Identity.instance_discovery`).

Access tokens are RS256 JWTs shaped like Entra's v1 tokens for BC: ``aud`` =
``config.access_token_audience``, ``iss`` = ``https://sts.windows.net/{tid}/``, ``tid``,
``oid``, ``appid``/``azp``, ``iat``/``nbf``/``exp`` from the emulator clock, ``uti``, and
``roles`` (client credentials) or ``scp`` + ``upn``/``name`` (delegated) (ENTRA
``access-token-claims-reference.md``). :meth:`Identity.authenticate` is what the BC side
calls on every request.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bcbridge.emulator import _device, _signin, _token
from bcbridge.emulator._grants import GrantStore, Subject
from bcbridge.emulator._jwt import InvalidToken, SigningKey
from bcbridge.emulator._scopes import APPLICATION_ROLES, DELEGATED_PERMISSIONS
from bcbridge.emulator.errors import BCError, entra_error_response, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bcbridge.emulator.app import Emulator
    from bcbridge.emulator.clock import Clock
    from bcbridge.emulator.config import EmulatorConfig

__all__ = ["CLAIMS_ENVIRON_KEY", "Identity"]

#: Where :meth:`Identity.authenticate` caches a request's verified claims (WSGI environ).
CLAIMS_ENVIRON_KEY = "bcbridge.emulator.claims"
_MULTI_TENANT = ("common", "organizations", "consumers")
_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}


class Identity:
    """Entra ID for the emulator: discovery, JWKS, authorize, token and token checks.

    Args:
        emulator: The owning :class:`~bcbridge.emulator.app.Emulator` (its ``config``,
            ``clock`` and ``control`` are used at request time).

    Attributes:
        key: The RS256 signing key (new per emulator).
        grants: Issued authorization codes and refresh tokens.
        session_state: Entra's ``session_state`` value echoed on the authorize redirect.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.key = SigningKey()
        self.grants = GrantStore()
        self.devices = _device.DeviceStore()
        self.session_state = str(uuid.uuid4())

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    @property
    def clock(self) -> Clock:
        return self.emulator.clock

    # -- routing -----------------------------------------------------------------------
    def handle(self, request: Request, tenant: str, endpoint: str) -> Response:
        """Serve one identity endpoint (logged and subject to ``target="identity"`` faults)."""
        return self.emulator.control.observe(
            request, "identity", lambda r: self._route(r, tenant, endpoint)
        )

    def _route(self, request: Request, tenant: str, endpoint: str) -> Response:
        if endpoint == "oauth2/v2.0/token":
            return _token.token(self, request, tenant)
        if endpoint == "oauth2/v2.0/authorize":
            return _signin.authorize(self, request, tenant)
        if endpoint == "oauth2/v2.0/devicecode":
            return _device.devicecode(self, request, tenant)
        if endpoint == "oauth2/deviceauth":
            return _device.device_login(self, request)
        if self.tenant_id(tenant, allow_common=True) is None:
            return entra_error_response(
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
                self.clock.now(),
            )
        if endpoint == "discovery/v2.0/keys":
            return json_response(self.key.jwks(), odata=False)
        if endpoint == "discovery/instance":
            return self.instance_discovery(request)
        return json_response(self.discovery(tenant), odata=False)

    # -- directory ---------------------------------------------------------------------
    def tenant_id(self, tenant: str, allow_common: bool = False) -> str | None:
        """The tenant GUID for ``tenant`` (GUID or domain), ``tenant`` itself for
        ``common``/``organizations``/``consumers`` when allowed, else ``None`` (unknown)."""
        if self.config.knows_tenant(tenant):
            return self.config.tenant
        if allow_common and tenant.lower() in _MULTI_TENANT:
            return tenant.lower()
        return None

    def discovery(self, tenant: str) -> dict[str, Any]:
        """The OpenID configuration as Entra builds it (``{tenantid}`` on multi-tenant paths)."""
        base = self.config.login_base_url
        known = self.config.knows_tenant(tenant)
        tid = self.config.tenant if known else "{tenantid}"
        path = self.config.tenant if known else tenant.lower()
        return {
            "issuer": f"{base}/{tid}/v2.0",
            "authorization_endpoint": f"{base}/{path}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
            "device_authorization_endpoint": f"{base}/{path}/oauth2/v2.0/devicecode",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                _device.DEVICE_CODE_GRANT,
            ],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nbf",
                "name",
                "nonce",
                "oid",
                "preferred_username",
                "tid",
                "ver",
            ],
            "request_uri_parameter_supported": False,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def instance_discovery(self, request: Request) -> Response:
        """Entra's instance discovery (``api-version=1.1``), as MSAL reads it.

        The shape is the one Entra answers and MSAL for Python parses
        (``msal/authority.py``, ``_instance_discovery``): ``tenant_discovery_endpoint`` for
        the tenant of ``authorization_endpoint``, ``api-version`` and ``metadata`` (the
        host's aliases). An ``authorization_endpoint`` on another host is
        ``invalid_instance`` AADSTS50049.
        """
        host = urlsplit(self.config.login_base_url).netloc.lower()
        endpoint = request.args.get("authorization_endpoint", "")
        parts = urlsplit(endpoint)
        segments = [s for s in parts.path.split("/") if s]
        if endpoint and (parts.netloc.lower() != host or not segments):
            return entra_error_response(
                "invalid_instance", 50049, "Unknown or invalid instance.", self.clock.now()
            )
        tenant = segments[0] if segments else "common"
        if host == "login.microsoftonline.com":
            # Entra's public-cloud entry (the aliases MSAL treats as one authority)
            aliases = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
            cache = "login.windows.net"
        else:
            aliases, cache = [host], host
        discovery = f"{self.config.login_base_url}/{tenant}/v2.0/.well-known/openid-configuration"
        return json_response(
            {
                "tenant_discovery_endpoint": discovery,
                "api-version": request.args.get("api-version", "1.1"),
                "metadata": [{"preferred_network": host, "preferred_cache": cache, "aliases": aliases}],
            },
            odata=False,
        )

    def user_subject(self) -> Subject:
        """The demo user (``config.demo_user_email``); its ``oid`` is stable per tenant."""
        email = self.config.demo_user_email
        oid = uuid.uuid5(
            uuid.NAMESPACE_URL, f"bcbridge-emulator:{self.config.tenant}:user:{email.lower()}"
        )
        return Subject(oid=str(oid), upn=email, name=self.config.demo_user_name)

    def app_subject(self) -> Subject:
        """The app registration's service principal in this tenant."""
        oid = uuid.uuid5(
            uuid.NAMESPACE_URL, f"bcbridge-emulator:{self.config.tenant}:sp:{self.config.client_id}"
        )
        return Subject(oid=str(oid))

    # -- tokens ------------------------------------------------------------------------
    def issue_access_token(self, subject: Subject, delegated: bool) -> tuple[str, int]:
        """Sign an access token for BC.

        Returns:
            ``(jwt, lifetime_seconds)``.
        """
        config = self.config
        now = int(self.clock.timestamp())
        lifetime = int(config.access_token_lifetime)
        claims: dict[str, Any] = {
            "aud": config.access_token_audience,
            "iss": f"https://sts.windows.net/{config.tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": config.client_id,
            "azp": config.client_id,
            "appidacr": "1",
            "idp": f"https://sts.windows.net/{config.tenant}/",
            "oid": subject.oid,
            "sub": subject.oid,
            "tid": config.tenant,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        if delegated:
            claims.update(
                scp=" ".join(DELEGATED_PERMISSIONS),
                upn=subject.upn,
                unique_name=subject.upn,
                name=subject.name,
                amr=["pwd"],
            )
        else:
            claims.update(roles=list(APPLICATION_ROLES), idtyp="app")
        return self.key.sign(claims), lifetime

    def issue_id_token(self, subject: Subject, nonce: str | None = None) -> str:
        """An OpenID Connect id_token (v2.0) for the client app."""
        config = self.config
        now = int(self.clock.timestamp())
        claims: dict[str, Any] = {
            "aud": config.client_id,
            "iss": f"{config.login_base_url}/{config.tenant}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + int(config.access_token_lifetime),
            "name": subject.name,
            "oid": subject.oid,
            "preferred_username": subject.upn,
            "sub": subject.oid,
            "tid": config.tenant,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self.key.sign(claims)

    def authenticate(self, request: Request) -> dict[str, Any]:
        """Verify the request's ``Authorization: Bearer`` access token, as BC does.

        Checks the signature (this emulator's key), ``exp``/``nbf`` against the emulator
        clock, ``aud`` and that ``tid`` is this tenant. The verified claims are cached in
        the WSGI environ, so the limits and the BC handler verify a request once.

        Returns:
            The token's claims.

        Raises:
            BCError: 401 ``Authentication_InvalidCredentials`` with ``WWW-Authenticate``
                for a missing, malformed, forged, expired, not-yet-valid, wrong-audience
                or other-tenant token (docs/bc/8-errors.md §8).
        """
        cached = request.environ.get(CLAIMS_ENVIRON_KEY)
        if isinstance(cached, dict):
            return cached
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise self._unauthorized()
        try:
            claims = self.key.verify(value.strip())
        except InvalidToken:
            raise self._unauthorized() from None
        now = self.clock.timestamp()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
            raise self._unauthorized()
        if (
            now >= exp
            or now < nbf
            or claims.get("aud") != self.config.access_token_audience
            or str(claims.get("tid", "")).lower() != self.config.tenant.lower()
        ):
            raise self._unauthorized()
        request.environ[CLAIMS_ENVIRON_KEY] = claims
        return claims

    @staticmethod
    def _unauthorized() -> BCError:
        return BCError(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
            headers=dict(_WWW_AUTHENTICATE),
        )

    def revoke_refresh_tokens(self, user: str | None = None) -> int:
        """Revoke refresh tokens of ``user`` (``oid`` or UPN) or of everyone.

        Returns:
            The number of live refresh tokens revoked; using one then fails with
            ``invalid_grant`` AADSTS70008.
        """
        return self.grants.revoke(user)

    def reset(self) -> None:
        """Forget every code and refresh token (the signing key stays)."""
        self.grants.clear()
        self.devices.clear()
