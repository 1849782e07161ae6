"""The authorization code grant with PKCE, driven through the admin and the emulator's sign-in page."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from bcbridge.auth import TokenManager
from bcbridge.entities import BC
from bcbridge.exceptions import AuthorizationRequired
from bcbridge.models import Connection, TokenStatus

from .signin import sign_in


def _authorize(client, connection, bc_emulator, *, action="accept"):
    """Press Authorize in the admin, sign in at the emulator, return the callback response."""
    start = client.get(reverse("admin:bcbridge_connection_authorize", args=[connection.pk]))
    assert start.status_code == 302
    authorize_url = start["Location"]
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0]
    with httpx.Client(transport=bc_emulator.transport()) as browser:
        redirect = sign_in(browser, authorize_url, action=action)
    parts = urlsplit(redirect)
    assert parts.path == reverse("bcbridge:oauth-callback")
    return client.get(f"{parts.path}?{parts.query}"), parse_qs(parts.query)


def test_authorize_button_signs_in_and_loads_companies(admin_client, delegated_connection, bc_emulator):
    response, _ = _authorize(admin_client, delegated_connection, bc_emulator)
    assert response.status_code == 200, response.content
    assert b"Authorized" in response.content
    delegated_connection.refresh_from_db()
    assert delegated_connection.current_token_status() == TokenStatus.VALID
    assert delegated_connection.token["refresh_token"]
    assert delegated_connection.authorized_by == "admin"
    assert delegated_connection.companies.count() == len(bc_emulator.bc.companies())


def test_cancel_at_sign_in_is_reported(admin_client, delegated_connection, bc_emulator):
    response, query = _authorize(admin_client, delegated_connection, bc_emulator, action="cancel")
    assert query["error"] == ["access_denied"]
    assert response.status_code == 400 and b"access_denied" in response.content
    delegated_connection.refresh_from_db()
    assert delegated_connection.token is None


def test_forged_state_is_rejected(admin_client, delegated_connection, bc_emulator):
    start = admin_client.get(reverse("admin:bcbridge_connection_authorize", args=[delegated_connection.pk]))
    with httpx.Client(transport=bc_emulator.transport()) as browser:
        redirect = sign_in(browser, start["Location"])
    query = parse_qs(urlsplit(redirect).query)
    forged = admin_client.get(reverse("bcbridge:oauth-callback"), {"code": query["code"][0], "state": "forged-state"})
    assert forged.status_code == 400
    delegated_connection.refresh_from_db()
    assert delegated_connection.token is None
    # the genuine state still works once, and only once
    genuine = admin_client.get(
        reverse("bcbridge:oauth-callback"), {"code": query["code"][0], "state": query["state"][0]}
    )
    assert genuine.status_code == 200
    replay = admin_client.get(
        reverse("bcbridge:oauth-callback"), {"code": query["code"][0], "state": query["state"][0]}
    )
    assert replay.status_code == 400


def test_callback_needs_a_staff_session(client, delegated_connection):
    response = client.get(reverse("bcbridge:oauth-callback"), {"code": "x", "state": "y"})
    assert response.status_code == 302 and "login" in response["Location"]


def test_wrong_pkce_verifier_is_refused(delegated_connection, bc_emulator):
    manager = TokenManager(delegated_connection)
    pending = manager.begin_authorization(delegated_connection, "http://testserver/bcbridge/oauth/callback/")
    with httpx.Client(transport=bc_emulator.transport()) as browser:
        redirect = sign_in(browser, pending.url)
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    with pytest.raises(AuthorizationRequired) as info:
        manager.complete_authorization(code, "not-the-verifier-" + "x" * 40, pending.redirect_uri)
    assert 501481 in info.value.codes


def _authorized(connection, bc_emulator):
    manager = TokenManager(connection)
    pending = manager.begin_authorization(connection, "http://testserver/bcbridge/oauth/callback/")
    with httpx.Client(transport=bc_emulator.transport()) as browser:
        redirect = sign_in(browser, pending.url)
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    manager.complete_authorization(code, pending.code_verifier, pending.redirect_uri)
    connection.refresh_from_db()
    return connection


def _expire(connection):
    token = connection.token
    token["expires_at"] = int(time.time()) - 1
    connection.token = token
    connection.save()


def test_refresh_rotates_and_persists_the_newest_refresh_token(delegated_connection, bc_emulator, emulator_transport):
    connection = _authorized(delegated_connection, bc_emulator)
    first_refresh_token = connection.token["refresh_token"]
    _expire(connection)
    with BC(connection) as bc:
        assert bc.companies()
    connection.refresh_from_db()
    assert connection.token["refresh_token"] != first_refresh_token
    assert connection.current_token_status() == TokenStatus.VALID


def test_revoked_grant_needs_authorization_without_retry_loop(delegated_connection, bc_emulator, emulator_transport):
    connection = _authorized(delegated_connection, bc_emulator)
    bc_emulator.identity.revoke_refresh_tokens()
    _expire(connection)
    before = emulator_transport.count("/oauth2/v2.0/token")
    with pytest.raises(AuthorizationRequired) as info, BC(connection) as bc:
        bc.companies()
    assert 70008 in info.value.codes
    assert emulator_transport.count("/oauth2/v2.0/token") == before + 1
    connection.refresh_from_db()
    assert connection.token_status == TokenStatus.NEEDS_AUTHORIZATION
    assert connection.token is None and "70008" in connection.status_reason


def test_deauthorize_clears_tokens(admin_client, delegated_connection, bc_emulator):
    _authorized(delegated_connection, bc_emulator)
    response = admin_client.post(reverse("admin:bcbridge_connection_deauthorize", args=[delegated_connection.pk]))
    assert response.status_code == 302
    delegated_connection.refresh_from_db()
    assert delegated_connection.token is None
    assert delegated_connection.current_token_status() == TokenStatus.NOT_AUTHORIZED


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_on_an_expired_token_cause_one_refresh(bc_emulator, emulator_transport):
    from .conftest import make_connection

    connection = _authorized(make_connection(bc_emulator, grant_type="authorization_code"), bc_emulator)
    _expire(connection)
    before = emulator_transport.count("/oauth2/v2.0/token")
    barrier = threading.Barrier(20)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker():
        from django.db import connection as db

        try:
            manager = TokenManager(Connection.objects.get(pk=connection.pk))
            barrier.wait()
            tokens.append(manager.access_token())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(tokens) == 20 and len(set(tokens)) == 1
    assert emulator_transport.count("/oauth2/v2.0/token") == before + 1
