"""The device authorization grant (RFC 8628) as Entra ID serves it.

Source: Microsoft identity platform, "OAuth 2.0 device authorization grant"
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code):

* ``POST /{tenant}/oauth2/v2.0/devicecode`` with ``client_id`` and ``scope`` answers
  ``device_code``, ``user_code``, ``verification_uri``, ``expires_in`` (900),
  ``interval`` (5) and ``message``.
* The user opens ``verification_uri``, enters ``user_code`` and signs in. Real Entra's
  ``https://microsoft.com/devicelogin`` forwards to ``/common/oauth2/deviceauth``; the
  emulator publishes its own ``{login origin}/common/oauth2/deviceauth`` page.
* The device polls the token endpoint with
  ``grant_type=urn:ietf:params:oauth:grant-type:device_code``: ``authorization_pending``
  until the user is done, then tokens; ``authorization_declined``, ``expired_token`` and
  ``bad_verification_code`` as documented. The AADSTS numbers of these errors are not in
  the document (**UNVERIFIED**: 70016 pending and 70019 expired are the ones Entra is seen
  to send; 70000 is used for declined and bad codes).
"""

from __future__ import annotations

import html
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcbridge.emulator._grants import GrantError, Subject
from bcbridge.emulator._scopes import ScopeError, describe, parse_delegated

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bcbridge.emulator.identity import Identity

__all__ = ["DEVICE_CODE_GRANT", "DeviceGrant", "DeviceStore", "device_login", "devicecode", "redeem"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


@dataclass
class DeviceGrant:
    """One pending device authorization."""

    client_id: str
    scope: str
    user_code: str
    expires_at: float
    status: str = "pending"  # pending | approved | declined | redeemed
    subject: Subject | None = None


@dataclass
class DeviceStore:
    """Device codes by ``device_code`` (thread-safe, in memory)."""

    grants: dict[str, DeviceGrant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, grant: DeviceGrant) -> str:
        device_code = secrets.token_urlsafe(48)
        with self._lock:
            self.grants[device_code] = grant
        return device_code

    def by_user_code(self, user_code: str, now: float) -> DeviceGrant | None:
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for grant in self.grants.values():
                if grant.user_code == wanted and grant.status == "pending" and now < grant.expires_at:
                    return grant
        return None

    def decide(self, grant: DeviceGrant, subject: Subject | None) -> None:
        """The user approved (``subject``: who signed in) or declined (``None``) ``grant``."""
        with self._lock:
            if grant.status == "pending":
                grant.subject, grant.status = subject, ("approved" if subject else "declined")

    def redeem(self, device_code: str, client_id: str, now: float) -> DeviceGrant:
        with self._lock:
            grant = self.grants.get(device_code)
            if grant is None or grant.client_id != client_id:
                raise GrantError(70000, "The provided device code is not valid.", "bad_verification_code")
            if now >= grant.expires_at:
                raise GrantError(70019, "Verification code expired.", "expired_token")
            if grant.status == "declined":
                raise GrantError(70000, "The end user denied the authorization request.", "authorization_declined")
            if grant.status == "pending":
                raise GrantError(
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    "authorization_pending",
                )
            if grant.status == "redeemed":
                raise GrantError(70000, "The provided device code has already been redeemed.", "invalid_grant")
            grant.status = "redeemed"
            return grant

    def clear(self) -> None:
        with self._lock:
            self.grants.clear()


def verification_uri(identity: Identity) -> str:
    return f"{identity.config.login_base_url}/common/oauth2/deviceauth"


def devicecode(identity: Identity, request: Request, tenant: str) -> Response:
    """``POST /{tenant}/oauth2/v2.0/devicecode``: start a device authorization."""
    from bcbridge.emulator.errors import entra_error_response, json_response

    config = identity.config
    now = identity.clock.now()
    form = request.form

    def fail(error: str, aadsts: int, description: str) -> Response:
        return entra_error_response(error, aadsts, description, now)

    if request.method != "POST":
        return fail("invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request.")
    if identity.tenant_id(tenant, allow_common=True) is None:
        return fail("invalid_request", 90002, f"Tenant '{tenant}' not found.")
    client_id = form.get("client_id", "")
    if not client_id:
        return fail("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
    if client_id != config.client_id:
        return fail(
            "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found in the directory."
        )
    if not form.get("scope"):
        return fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    try:
        scopes = parse_delegated(form["scope"])
    except ScopeError as error:
        return fail("invalid_scope", 70011, str(error))
    user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
    lifetime = int(config.extra.get("device_code_lifetime", 900))  # type: ignore[call-overload]
    interval = int(config.extra.get("device_code_interval", 5))  # type: ignore[call-overload]
    device_code = identity.devices.issue(
        DeviceGrant(client_id, " ".join(scopes), user_code, identity.clock.timestamp() + lifetime)
    )
    uri = verification_uri(identity)
    return json_response(
        {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": lifetime,
            "interval": interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
            f"{user_code} to authenticate.",
        },
        odata=False,
    )


def redeem(identity: Identity, form: Any, client_id: str) -> tuple[Subject, list[str]]:
    """The token endpoint's device-code grant: the subject and scopes, or a ``GrantError``."""
    device_code = form.get("device_code", "")
    if not device_code:
        raise GrantError(
            900144, "The request body must contain the following parameter: 'device_code'.", "invalid_request"
        )
    grant = identity.devices.redeem(device_code, client_id, identity.clock.timestamp())
    assert grant.subject is not None
    return grant.subject, grant.scope.split()


def device_login(identity: Identity, request: Request) -> Response:
    """``GET|POST /common/oauth2/deviceauth``: enter the user code, then sign in."""
    from bcbridge.emulator._signin import _hidden, _html

    config = identity.config
    action = html.escape(request.path)
    if request.method != "POST" or "otc" not in request.form:
        return _html("devicecode.html", {"action": action, "error": ""})
    grant = identity.devices.by_user_code(request.form["otc"], identity.clock.timestamp())
    if grant is None:
        error = '<p id="error" class="error">That code didn\'t work. Check the code and try again.</p>'
        return _html("devicecode.html", {"action": action, "error": error})
    step = request.form.get("action")
    if step == "cancel":
        identity.devices.decide(grant, None)
        return _html("message.html", {"title": "Sign-in cancelled", "message": "You declined to sign in."})
    email = request.form.get("email") or config.demo_user_email
    page = {
        "action": action,
        "hidden": _hidden({"otc": grant.user_code}),
        "email": html.escape(email),
        "app_name": html.escape(str(config.extra.get("app_name", "bcbridge"))),
        "permissions": "\n        ".join(f"<li>{html.escape(line)}</li>" for line in describe(grant.scope.split())),
        "tenant": html.escape(config.tenant_domains[0] if config.tenant_domains else config.tenant),
        "demo_email": html.escape(config.demo_user_email),
        "error": "",
    }
    if step != "accept":
        return _html("signin.html", page)
    password = request.form.get("password", "")
    if email.lower() != config.demo_user_email.lower() or password != config.demo_user_password:
        page["error"] = '<p id="error" class="error">Your account or password is incorrect.</p>'
        return _html("signin.html", page)
    identity.devices.decide(grant, identity.user_subject())
    return _html(
        "message.html",
        {
            "title": "You're signed in",
            "message": html.escape(
                f"You have signed in to the {config.extra.get('app_name', 'bcbridge')} application on your device. "
                "You may now close this window."
            ),
        },
    )
