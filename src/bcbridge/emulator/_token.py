"""The token endpoint: ``POST /{tenant}/oauth2/v2.0/token`` (docs/bc/1-identity.md §1.2, §1.3, §1.5).

Grants: ``authorization_code`` (with PKCE S256/plain), ``refresh_token`` (soft rotation:
a new refresh token on every use, the old one stays valid unless
``strict_refresh_token_rotation``), ``client_credentials`` and the device code grant
(:mod:`._device`). Client authentication by
``client_id``/``client_secret`` in the body (``client_secret_post``) or HTTP Basic
(``client_secret_basic``). Errors are Entra's JSON (``errors.entra_error_response``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from bcbridge.emulator._device import DEVICE_CODE_GRANT
from bcbridge.emulator._device import redeem as redeem_device_code
from bcbridge.emulator._grants import GrantError, RefreshGrant
from bcbridge.emulator._scopes import BC_RESOURCE, ScopeError, granted, parse_delegated
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.errors import entra_error_response, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bcbridge.emulator._grants import Subject
    from bcbridge.emulator.identity import Identity

__all__ = ["token"]

_GRANTS = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT)
_COMMON = ("common", "consumers")


class _Fail(Exception):
    def __init__(self, error: str, aadsts: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.aadsts, self.description, self.status = error, aadsts, description, status


def _missing(name: str) -> _Fail:
    return _Fail(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _client_auth(request: Request) -> tuple[str, str | None]:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError) as error:
            raise _Fail(
                "invalid_client", 7000216, "Malformed HTTP Basic client authentication.", 401
            ) from error
        # RFC 6749 §2.3.1: both parts are form-urlencoded before base64
        return unquote(user), unquote(password)
    return request.form.get("client_id", ""), request.form.get("client_secret")


def _pkce_ok(challenge: str, method: str | None, verifier: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def token(identity: Identity, request: Request, tenant: str) -> Response:
    """Answer one token request; see the module docstring for the rules."""
    config = identity.config
    now = identity.clock.now()
    try:
        if request.method != "POST":
            raise _Fail(
                "invalid_request",
                900561,
                "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
            )
        tid = identity.tenant_id(tenant, allow_common=True)
        if tid is None:
            raise _Fail(
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
        form = request.form
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise _missing("grant_type")
        client_id, secret = _client_auth(request)
        if not client_id:
            raise _missing("client_id")
        if client_id != config.client_id:
            raise _Fail(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the "
                f"directory '{tenant}'. This can happen if the application has "
                "not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant.",
            )
        if grant_type not in _GRANTS:
            raise _Fail(
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        public = config.public_client and grant_type != "client_credentials"
        if not secret and not public:
            raise _Fail(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
                config.invalid_client_status,
            )
        if secret and not hmac.compare_digest(secret.encode(), config.client_secret.encode()):
            raise _Fail(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent "
                "in the request is the client secret value, not the client secret "
                f"ID, for a secret added to app '{client_id}'.",
                config.invalid_client_status,
            )
        if grant_type == "client_credentials":
            body = _client_credentials(identity, form, tenant)
        elif grant_type == "authorization_code":
            body = _authorization_code(identity, form, client_id)
        elif grant_type == DEVICE_CODE_GRANT:
            subject, scopes = redeem_device_code(identity, form, client_id)
            body = _delegated_response(identity, subject, scopes)
        else:
            body = _refresh_token(identity, form, client_id)
    except _Fail as fail:
        return entra_error_response(
            fail.error, fail.aadsts, fail.description, now, status=fail.status
        )
    except GrantError as error:
        return entra_error_response(error.error, error.aadsts, error.description, now)
    if form.get("client_info") == "1" and "scope" in body:
        body["client_info"] = _client_info(identity, body)
    response = json_response(body, odata=False)
    response.headers["Cache-Control"] = "no-store, no-cache"
    response.headers["Pragma"] = "no-cache"
    return response


def _client_info(identity: Identity, body: dict[str, Any]) -> str:
    """Entra's ``client_info`` (asked for with ``client_info=1``, as MSAL does): base64url of
    ``{"uid": oid, "utid": tid}`` of the signed-in user, the key of MSAL's account cache."""
    claims = identity.key.verify(body["access_token"])
    info = orjson.dumps({"uid": claims["oid"], "utid": claims["tid"]})
    return base64.urlsafe_b64encode(info).rstrip(b"=").decode("ascii")


def _client_credentials(identity: Identity, form: Any, tenant: str) -> dict[str, Any]:
    if tenant.lower() in _COMMON:
        raise _Fail(
            "invalid_request",
            9001023,
            "The grant type isn't supported over the /common or /consumers endpoints. "
            "Please use the /organizations or tenant-specific endpoint.",
        )
    scope = form.get("scope", "")
    if not scope:
        raise _missing("scope")
    if scope != BC_SCOPE:
        if scope.startswith(BC_RESOURCE + "/") and " " not in scope:
            raise _Fail(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        raise _Fail(
            "invalid_scope",
            70011,
            # Entra's documented client credentials sample, word for word (docs/bc §1.5).
            f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
        )
    access_token, lifetime = identity.issue_access_token(identity.app_subject(), delegated=False)
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }


def _delegated_response(
    identity: Identity, subject: Subject, scopes: list[str], nonce: str | None = None
) -> dict[str, Any]:
    access_token, lifetime = identity.issue_access_token(subject, delegated=True)
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": granted(scopes),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }
    if "offline_access" in scopes:
        body["refresh_token"] = identity.grants.issue_refresh_token(
            RefreshGrant(
                client_id=identity.config.client_id,
                scope=" ".join(scopes),
                subject=subject,
                expires_at=identity.clock.timestamp() + identity.config.refresh_token_lifetime,
            )
        )
    if "openid" in scopes:
        body["id_token"] = identity.issue_id_token(subject, nonce)
    return body


def _authorization_code(identity: Identity, form: Any, client_id: str) -> dict[str, Any]:
    value = form.get("code", "")
    if not value:
        raise _missing("code")
    redirect_uri = form.get("redirect_uri", "")
    code = identity.grants.redeem_code(value, identity.clock.timestamp())
    if code.client_id != client_id:
        raise _Fail(
            "invalid_grant",
            70000,
            "The provided authorization code was issued to another application.",
        )
    if redirect_uri != code.redirect_uri:
        # Entra's exact code for a redeem-time mismatch is UNVERIFIED
        raise _Fail(
            "invalid_grant",
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does "
            "not match the redirect URI used to request the authorization code.",
        )
    if code.code_challenge:
        verifier = form.get("code_verifier", "")
        if not verifier or not _pkce_ok(code.code_challenge, code.code_challenge_method, verifier):
            raise _Fail(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied "
                "in the authorization request.",
            )
    return _delegated_response(identity, code.subject, code.scope.split(), code.nonce)


def _refresh_token(identity: Identity, form: Any, client_id: str) -> dict[str, Any]:
    value = form.get("refresh_token", "")
    if not value:
        raise _missing("refresh_token")
    grant = identity.grants.redeem_refresh_token(
        value, client_id, identity.clock.timestamp(), identity.config.strict_refresh_token_rotation
    )
    scopes = grant.scope.split()
    if form.get("scope"):
        try:
            asked = parse_delegated(form["scope"])
        except ScopeError as error:
            raise _Fail("invalid_scope", 70011, str(error)) from error
        # offline_access is implied by redeeming a refresh token
        scopes = [*asked, *(["offline_access"] if "offline_access" not in asked else [])]
    return _delegated_response(identity, grant.subject, scopes)
