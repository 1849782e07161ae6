"""The authorization code grant in the browser: start (from the admin) and callback.

The pending sign-in (``state``, PKCE verifier, redirect URI) lives in the user's session,
the verifier encrypted; the callback accepts only a ``state`` it issued (compared in
constant time), at most once, within 15 minutes (Entra codes live about 10, docs/bc/1-identity.md §1.2).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from bcbridge import crypto
from bcbridge.auth import OfflineAccessNotGranted, TokenManager
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import Connection
from bcbridge.sync.companies import load_companies

__all__ = ["callback_url", "oauth_callback", "start_authorization"]

logger = logging.getLogger(__name__)

SESSION_KEY = "bcbridge_oauth_pending"
PENDING_MAX_AGE = 15 * 60


def callback_url(request: HttpRequest, connection: Connection) -> str:
    """The redirect URI for ``connection``: its own setting, else this site's callback."""
    return connection.redirect_uri or request.build_absolute_uri(reverse("bcbridge:oauth-callback"))


def start_authorization(request: HttpRequest, connection: Connection) -> HttpResponseRedirect:
    """Remember a new pending sign-in in the session and redirect to the authorize endpoint."""
    pending = TokenManager(connection).begin_authorization(connection, callback_url(request, connection))
    now = time.time()
    store: dict[str, Any] = {
        state: entry
        for state, entry in request.session.get(SESSION_KEY, {}).items()
        if now - entry.get("created", 0) < PENDING_MAX_AGE
    }
    store[pending.state] = {
        "connection": connection.pk,
        "verifier": crypto.encrypt(pending.code_verifier),
        "redirect_uri": pending.redirect_uri,
        "created": now,
    }
    request.session[SESSION_KEY] = store
    return HttpResponseRedirect(pending.url)


def _pop_pending(request: HttpRequest, state: str) -> dict[str, Any] | None:
    store: dict[str, Any] = request.session.get(SESSION_KEY, {})
    found = None
    for candidate in list(store):
        if hmac.compare_digest(candidate.encode(), state.encode()):
            found = candidate
    if found is None:
        return None
    entry: dict[str, Any] = store.pop(found)
    request.session[SESSION_KEY] = store
    if time.time() - entry.get("created", 0) >= PENDING_MAX_AGE:
        return None
    return entry


def _done(
    request: HttpRequest, connection: Connection | None, ok: bool, message: str, status: int = 200
) -> HttpResponse:
    change_url = (
        reverse("admin:bcbridge_connection_change", args=[connection.pk]) if connection else reverse("admin:index")
    )
    response = render(
        request,
        "bcbridge/oauth_done.html",
        {"ok": ok, "message": message, "connection": connection, "change_url": change_url},
        status=status,
    )
    # The page must reach the admin window that opened the sign-in popup; a strict
    # Cross-Origin-Opener-Policy would have cut that link when the popup visited Entra.
    response.headers["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@staff_member_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """``GET /bcbridge/oauth/callback/?code=...&state=...`` (or ``?error=...``)."""
    entry = _pop_pending(request, request.GET.get("state", ""))
    if entry is None:
        logger.warning("OAuth callback with an unknown or expired state rejected")
        return _done(
            request, None, False, "This sign-in was not started here or has expired. Press Authorize again.", 400
        )
    connection = Connection.objects.filter(pk=entry["connection"]).first()
    if connection is None:
        return _done(request, None, False, "The connection no longer exists.", 400)
    if "error" in request.GET:
        description = (
            request.GET.get("error_description", "").splitlines()[0] if request.GET.get("error_description") else ""
        )
        return _done(
            request,
            connection,
            False,
            f"The identity provider refused the sign-in: {request.GET['error']}. {description}".strip(),
            400,
        )
    code = request.GET.get("code", "")
    if not code:
        return _done(request, connection, False, "The callback carried no authorization code.", 400)
    try:
        TokenManager(connection).complete_authorization(
            code, crypto.decrypt(entry["verifier"]), entry["redirect_uri"], by=request.user.get_username()
        )
    except OfflineAccessNotGranted as exc:
        # Reporting success here would leave a connection that dies with its access token.
        return _done(request, connection, False, f"Not authorized: {exc.description}", 400)
    except BCBridgeError as exc:
        return _done(request, connection, False, f"Could not redeem the authorization code: {exc}", 400)
    connection.refresh_from_db()
    try:
        companies = load_companies(connection)
    except BCBridgeError as exc:
        return _done(request, connection, True, f"Authorized, but loading companies failed: {exc}")
    return _done(request, connection, True, f"Authorized. {len(companies)} companies loaded.")
