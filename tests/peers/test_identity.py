"""bcbridge's OAuth paths against two identity providers: the emulator (Entra's behaviour) and
panva oidc-provider (a certified OpenID Provider). Expected values come from the OAuth and
OpenID specifications (RFC 6749, RFC 7009, RFC 7662, OpenID Connect Core 1.0) and Entra's
documentation (docs/bc/1-identity.md §1), never from bcbridge itself.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from bcbridge.auth import TokenManager
from bcbridge.entities import BC
from bcbridge.exceptions import AuthorizationRequired
from bcbridge.models import Connection, TokenStatus

from ._identity import Identity

pytestmark = pytest.mark.peer


@pytest.fixture(params=["emulator", "oidc-provider"])
def identity(request: Any, db: Any, peer_network: Any) -> Identity:
    if request.param == "oidc-provider":
        oidc = request.getfixturevalue("oidc_peer")
        cap = request.getfixturevalue("cap_peer")
        client = oidc.client()
        return Identity(
            "oidc-provider",
            oidc.authority,
            oidc.tenant,
            client.client_id,
            client.client_secret,
            cap.api_url,
            cap.environment,
            "consent",
            True,
            oidc,
        )
    server = request.getfixturevalue("bc_emulator_server")
    emulator = request.getfixturevalue("bc_emulator")
    config = emulator.config
    return Identity(
        "emulator", server.url, config.tenant, config.client_id, config.client_secret,
        server.url, config.environment, "select_account", False, emulator,
    )  # fmt: skip


def _authorized(identity: Identity, **fields: Any) -> Connection:
    connection = identity.connection("user", grant_type="authorization_code", prompt=identity.prompt, **fields)
    manager = TokenManager(connection)
    pending = manager.begin_authorization(connection, "http://testserver/bcbridge/oauth/callback/")
    code = parse_qs(urlsplit(identity.sign_in(pending.url)).query)["code"][0]
    manager.complete_authorization(code, pending.code_verifier, pending.redirect_uri)
    connection.refresh_from_db()
    return connection


def _expire(connection: Connection) -> None:
    token = connection.token
    token["expires_at"] = int(time.time()) - 1
    connection.token = token
    connection.save()


def _admin_authorize(admin_client: Any, identity: Identity, connection: Connection) -> Any:
    start = admin_client.get(reverse("admin:bcbridge_connection_authorize", args=[connection.pk]))
    assert start.status_code == 302, start.content[:500]
    redirect = urlsplit(identity.sign_in(start["Location"]))
    assert redirect.path == reverse("bcbridge:oauth-callback")
    return admin_client.get(f"{redirect.path}?{redirect.query}")


# -- client credentials ------------------------------------------------------------------


def test_connect_with_client_credentials_loads_companies(identity: Identity, capsys: Any) -> None:
    call_command("connect", *identity.connect_args("svc"))
    connection = Connection.objects.get(name="svc")
    assert connection.current_token_status() == TokenStatus.VALID
    assert connection.companies.count() >= 2
    assert "Token acquired" in capsys.readouterr().out


def test_wrong_secret_on_an_existing_connection_is_refused_by_the_provider(identity: Identity) -> None:
    call_command("connect", *identity.connect_args("svc"))
    before = identity.token_requests()
    with pytest.raises(CommandError) as info:
        call_command("connect", "svc", "--client-secret", "not-the-secret")
    # RFC 6749 §5.2: a client that fails authentication gets invalid_client.
    message = str(info.value)
    assert "identity provider" in message and "invalid_client" in message and "BC" not in message.split(":")[0]
    assert identity.token_requests() == before + 1  # it asked, instead of showing the stored token
    connection = Connection.objects.get(name="svc")
    assert connection.client_secret == identity.client_secret  # left as it was
    assert connection.current_token_status() == TokenStatus.VALID


def test_new_connection_with_a_wrong_secret_is_not_saved(identity: Identity) -> None:
    with pytest.raises(CommandError, match="Nothing was saved"):
        call_command("connect", *identity.connect_args("svc", **{"--client-secret": "wrong"}))
    assert not Connection.objects.filter(name="svc").exists()


def test_get_token_with_a_wrong_secret_says_credentials_rejected(identity: Identity, admin_client: Any) -> None:
    connection = identity.connection("svc")
    with BC(connection) as bc:
        bc.tokens.acquire()
    Connection.objects.filter(pk=connection.pk).update()  # keep the valid token
    connection.refresh_from_db()
    connection.client_secret = "not-the-secret"
    connection.save()
    response = admin_client.post(reverse("admin:bcbridge_connection_acquire", args=[connection.pk]), follow=True)
    text = response.content.decode()
    assert "identity provider refused: invalid_client" in text and "Fix the client id or secret" in text
    connection.refresh_from_db()
    assert connection.token_status == TokenStatus.CREDENTIALS_REJECTED
    assert connection.status_error == "invalid_client" and connection.status_reason
    assert connection.current_token_status() == TokenStatus.CREDENTIALS_REJECTED


# -- authorization code ------------------------------------------------------------------


def test_admin_authorize_signs_in_and_stores_a_refresh_token(identity: Identity, admin_client: Any) -> None:
    connection = identity.connection("user", grant_type="authorization_code", prompt=identity.prompt)
    response = _admin_authorize(admin_client, identity, connection)
    assert response.status_code == 200 and b"Authorized" in response.content, response.content[-800:]
    connection.refresh_from_db()
    assert connection.current_token_status() == TokenStatus.VALID
    assert connection.token["refresh_token"] and connection.authorized_by == "admin"
    assert connection.companies.count() >= 2


def test_without_offline_access_no_refresh_token_means_no_success(identity: Identity, admin_client: Any) -> None:
    # RFC 6749 §5.1 / OpenID Core §11: the refresh token comes only with offline_access.
    from bcbridge.conf import get_settings

    connection = identity.connection(
        "user", grant_type="authorization_code", prompt=identity.prompt, scopes=get_settings().BC_SCOPE
    )
    response = _admin_authorize(admin_client, identity, connection)
    assert response.status_code == 400 and b"Authorized" not in response.content
    assert b"offline_access" in response.content
    connection.refresh_from_db()
    assert connection.token is None and connection.token_status == TokenStatus.NEEDS_AUTHORIZATION


def test_refresh_after_forced_expiry_keeps_the_newest_refresh_token(identity: Identity) -> None:
    connection = _authorized(identity)
    first = connection.token["refresh_token"]
    issued = identity.refresh_token_grants()
    _expire(connection)
    with BC(connection) as bc:
        assert bc.companies()
    connection.refresh_from_db()
    assert identity.refresh_token_grants() == issued + 1
    assert connection.token["refresh_token"] != first  # rotated, the newest one stored
    assert connection.current_token_status() == TokenStatus.VALID


def test_revoked_grant_needs_authorization_and_keeps_the_providers_reason(identity: Identity) -> None:
    connection = _authorized(identity)
    identity.revoke_grant(connection)
    _expire(connection)
    with pytest.raises(AuthorizationRequired) as info, BC(connection) as bc:
        bc.companies()
    assert info.value.error == "invalid_grant"  # RFC 6749 §5.2
    connection.refresh_from_db()
    assert connection.token_status == TokenStatus.NEEDS_AUTHORIZATION
    assert connection.status_error == "invalid_grant"
    reason = connection.status_reason
    assert reason and reason == info.value.description
    requests = identity.token_requests()
    with pytest.raises(AuthorizationRequired) as again, BC(connection) as bc:
        bc.companies()
    assert again.value.error == "invalid_grant" and again.value.description == reason
    assert identity.token_requests() == requests  # nothing left to ask the provider with
    connection.refresh_from_db()
    assert connection.status_reason == reason


def test_deauthorize_revokes_where_the_provider_offers_revocation(identity: Identity, admin_client: Any) -> None:
    connection = _authorized(identity)
    refresh_token = connection.token["refresh_token"]
    response = admin_client.post(reverse("admin:bcbridge_connection_deauthorize", args=[connection.pk]), follow=True)
    text = response.content.decode()
    connection.refresh_from_db()
    assert connection.token is None and connection.current_token_status() == TokenStatus.NOT_AUTHORIZED
    if identity.revocation:
        assert "revoked the refresh token" in text
        assert identity.provider.introspect(refresh_token) == {"active": False}  # RFC 7662 §2.2
    else:  # Entra publishes no revocation endpoint (docs/bc/1-identity.md §1.1)
        assert "publishes no revocation endpoint" in text


# -- where a standard provider differs from Entra -----------------------------------------


def test_select_account_is_refused_by_a_standard_provider(
    oidc_peer: Any, cap_peer: Any, db: Any, peer_network: Any, admin_client: Any
) -> None:
    # OpenID Core §3.1.2.1 defines select_account, but a provider that does not support it
    # answers invalid_request; Entra's default is then the wrong choice, and the callback says so.
    client = oidc_peer.client()
    connection = Connection.objects.create(
        name="user", api_url=cap_peer.api_url, authority_url=oidc_peer.authority, tenant=oidc_peer.tenant,
        client_id=client.client_id, client_secret=client.client_secret, grant_type="authorization_code",
    )  # fmt: skip
    assert connection.prompt == "select_account"
    start = admin_client.get(reverse("admin:bcbridge_connection_authorize", args=[connection.pk]))
    redirect = urlsplit(oidc_peer.sign_in(start["Location"]))
    assert parse_qs(redirect.query)["error"] == ["invalid_request"]
    response = admin_client.get(f"{redirect.path}?{redirect.query}")
    assert response.status_code == 400
    assert b"The identity provider refused the sign-in: invalid_request" in response.content


def test_prompt_login_drops_offline_access_and_bcbridge_says_so(
    oidc_peer: Any, cap_peer: Any, db: Any, peer_network: Any, admin_client: Any
) -> None:
    # OpenID Core §11: offline_access is ignored unless prompt contains consent.
    client = oidc_peer.client()
    connection = Connection.objects.create(
        name="user", api_url=cap_peer.api_url, authority_url=oidc_peer.authority, tenant=oidc_peer.tenant,
        client_id=client.client_id, client_secret=client.client_secret, grant_type="authorization_code",
        prompt="login",
    )  # fmt: skip
    start = admin_client.get(reverse("admin:bcbridge_connection_authorize", args=[connection.pk]))
    redirect = urlsplit(oidc_peer.sign_in(start["Location"]))
    response = admin_client.get(f"{redirect.path}?{redirect.query}")
    assert response.status_code == 400 and b"Authorized" not in response.content
    assert b"offline_access was not granted" in response.content and b"prompt to consent" in response.content


def test_client_secret_basic_registration_connects(oidc_peer: Any, cap_peer: Any, db: Any, peer_network: Any) -> None:
    # RFC 6749 §2.3.1: a client registered for HTTP Basic must authenticate that way.
    basic = oidc_peer.client("client_secret_basic")
    common = [
        "--api-url", cap_peer.api_url, "--authority", oidc_peer.authority, "--tenant", oidc_peer.tenant,
        "--client-id", basic.client_id, "--client-secret", basic.client_secret, "--grant", "client_credentials",
    ]  # fmt: skip
    call_command("connect", "svc", *common, "--client-auth", "client_secret_basic")
    connection = Connection.objects.get(name="svc")
    assert connection.client_auth_method == "client_secret_basic"
    assert connection.current_token_status() == TokenStatus.VALID and connection.companies.count() >= 2


# -- one refresh across processes ---------------------------------------------------------

_WORKER = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "bcbridge.site.settings"
django.setup()
from bcbridge.auth import TokenManager
from bcbridge.models import Connection
manager = TokenManager(Connection.objects.get(pk=int(sys.argv[1])))
print("ready", flush=True)
sys.stdin.readline()  # go
print("token", manager.access_token(), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_four_processes_on_an_expired_token_cause_one_refresh_grant(
    identity: Identity, settings: Any, tmp_path: Any
) -> None:
    import os
    import subprocess
    import sys

    from django.db import connection as db

    connection = _authorized(identity)
    _expire(connection)
    issued = identity.refresh_token_grants()
    database = db.settings_dict
    url = (
        f"sqlite:///{database['NAME']}"
        if db.vendor == "sqlite"
        else f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BCBRIDGE_HOME": str(tmp_path),
        "BCBRIDGE_ENCRYPTION_KEYS": ",".join(settings.BCBRIDGE["ENCRYPTION_KEYS"]),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(connection.pk)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        outputs = [worker.communicate("go\n", timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    tokens = set()
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        tokens.add(out.split()[-1])
    assert len(tokens) == 1  # every process uses the one new token
    assert identity.refresh_token_grants() == issued + 1  # counted at the provider
