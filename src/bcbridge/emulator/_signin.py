"""The authorize endpoint: Entra's sign-in and consent page, reduced to one form.

``GET /{tenant}/oauth2/v2.0/authorize`` validates the request the way Entra does
(
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow,
docs/bc/1-identity.md §1.2): problems with the tenant, the
client or the redirect URI are shown on an error page (Entra never redirects to an
unregistered URI); other problems redirect back with ``error=...``. A valid request
shows one page with the demo user's e-mail, a password field, the app's requested
permissions and Accept / Cancel buttons; the form POSTs back to the same URL with the
OAuth parameters as hidden fields.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Response

from bcbridge.emulator._grants import AuthCode
from bcbridge.emulator._scopes import ScopeError, describe, parse_delegated

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.identity import Identity

__all__ = ["authorize"]

_OAUTH_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
    "domain_hint",
    "nonce",
)
_RESPONSE_MODES = ("query", "fragment", "form_post")


@cache
def _template(name: str) -> Template:
    text = resources.files("bcbridge.emulator").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def _html(name: str, values: dict[str, str], status: int = 200) -> Response:
    body = _template(name).substitute(values)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store, no-cache"
    return response


def _hidden(values: dict[str, str]) -> str:
    return "\n    ".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in values.items()
    )


def error_page(aadsts: int, description: str, status: int = 400) -> Response:
    """Entra's "we're having trouble signing you in" page with ``AADSTS<code>``."""
    values = {"code": str(aadsts), "description": html.escape(description)}
    return _html("error.html", values, status=status)


def _redirect(redirect_uri: str, mode: str, values: dict[str, str]) -> Response:
    if mode == "form_post":
        return _html(
            "form_post.html", {"action": html.escape(redirect_uri), "hidden": _hidden(values)}
        )
    separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    response = Response(status=302)
    response.headers["Location"] = redirect_uri + separator + urlencode(values)
    return response


def _redirect_uri_ok(uri: str, registered: tuple[str, ...]) -> bool:
    if registered:
        return uri in registered
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def authorize(identity: Identity, request: Request, tenant: str) -> Response:
    """Serve ``GET``/``POST /{tenant}/oauth2/v2.0/authorize``.

    Returns:
        The sign-in page (200), an error page (400), or a 302 to ``redirect_uri`` with
        ``code`` and ``state`` (``response_mode=query``/``fragment``) or an
        auto-submitting form (``form_post``); errors after the redirect URI is known go
        back as ``error``, ``error_description`` (``AADSTS...``) and ``state``.
    """
    config = identity.config
    params = {name: request.args.get(name, "") for name in _OAUTH_PARAMS}
    if request.method == "POST":
        params.update({name: request.form[name] for name in _OAUTH_PARAMS if name in request.form})
    if identity.tenant_id(tenant, allow_common=True) is None:
        return error_page(
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud.",
        )
    client_id = params["client_id"]
    if not client_id:
        return error_page(
            900144, "The request body must contain the following parameter: 'client_id'."
        )
    if client_id != config.client_id:
        return error_page(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed "
            "by the administrator of the tenant or consented to by any user in "
            "the tenant.",
        )
    redirect_uri = params["redirect_uri"]
    if not redirect_uri or not _redirect_uri_ok(redirect_uri, config.redirect_uris):
        return error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does "
            f"not match the redirect URIs configured for the application '{client_id}'.",
        )

    mode = params["response_mode"] or "query"
    if mode not in _RESPONSE_MODES:
        mode = "query"
    state = params["state"]

    def fail(error: str, aadsts: int, description: str) -> Response:
        values = {"error": error, "error_description": f"AADSTS{aadsts}: {description}"}
        if state:
            values["state"] = state
        return _redirect(redirect_uri, mode, values)

    if params["response_mode"] and params["response_mode"] not in _RESPONSE_MODES:
        return fail(
            "invalid_request",
            900144,
            f"The value '{params['response_mode']}' of 'response_mode' is not valid.",
        )
    if not params["response_type"]:
        return fail(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'response_type'.",
        )
    if params["response_type"] != "code":
        return fail(
            "unsupported_response_type",
            700054,
            f"response_type '{params['response_type']}' is not enabled for the application.",
        )
    if not params["scope"]:
        return fail(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    try:
        scopes = parse_delegated(params["scope"])
    except ScopeError as error:
        return fail("invalid_scope", 70011, str(error))
    method = params["code_challenge_method"] or ("plain" if params["code_challenge"] else "")
    if params["code_challenge"] and method not in ("S256", "plain"):
        # Entra's code for this case is not documented (UNVERIFIED)
        return fail(
            "invalid_request",
            501491,
            f"Invalid code_challenge_method '{method}'; use S256 or plain.",
        )
    if params["prompt"] == "none":
        # the emulator keeps no browser session, so silent sign-in always needs interaction
        return fail(
            "login_required", 50058, "A silent sign-in request was sent but no user is signed in."
        )

    hidden = {name: value for name, value in params.items() if value}
    action = request.form.get("action") if request.method == "POST" else None
    if action == "cancel":
        return fail("access_denied", 65004, "User declined to consent to access the app.")
    email = (
        (request.form.get("email") if action else None)
        or params["login_hint"]
        or config.demo_user_email
    )
    page = {
        "action": html.escape(request.path),
        "hidden": _hidden(hidden),
        "email": html.escape(email),
        "app_name": html.escape(str(config.extra.get("app_name", "bcbridge"))),
        "permissions": "\n        ".join(
            f"<li>{html.escape(line)}</li>" for line in describe(scopes)
        ),
        "tenant": html.escape(config.tenant_domains[0] if config.tenant_domains else config.tenant),
        "demo_email": html.escape(config.demo_user_email),
        "error": "",
    }
    if action != "accept":
        return _html("signin.html", page)
    password = request.form.get("password", "")
    if email.lower() != config.demo_user_email.lower() or password != config.demo_user_password:
        page["error"] = (
            '<p id="error" class="error">Your account or password is incorrect. '
            "If you don't remember your password, reset it now.</p>"
        )
        return _html("signin.html", page)

    code = identity.grants.issue_code(
        AuthCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            subject=identity.user_subject(),
            expires_at=identity.clock.timestamp() + config.auth_code_lifetime,
            code_challenge=params["code_challenge"] or None,
            code_challenge_method=method or None,
            nonce=params["nonce"] or None,
        )
    )
    values = {"code": code}
    if state:
        values["state"] = state
    values["session_state"] = identity.session_state
    return _redirect(redirect_uri, mode, values)
