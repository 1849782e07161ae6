"""Client credentials end to end against the emulator: token, companies, expiry, errors."""

from __future__ import annotations

import time

import httpx
import pytest
from django.core.management import call_command

from bcbridge.entities import BC
from bcbridge.exceptions import AuthenticationFailed, InvalidClientCredentials
from bcbridge.models import Connection, TokenStatus
from bcbridge.sync.companies import load_companies


def test_connect_command_acquires_token_and_loads_companies(db, bc_emulator, emulator_transport, capsys):
    config = bc_emulator.config
    call_command(
        "connect",
        "cronus",
        "--api-url",
        config.base_url,
        "--authority",
        config.base_url,
        "--tenant",
        config.tenant,
        "--environment",
        config.environment,
        "--client-id",
        config.client_id,
        "--client-secret",
        config.client_secret,
        "--grant",
        "client_credentials",
    )
    connection = Connection.objects.get(name="cronus")
    assert connection.current_token_status() == TokenStatus.VALID
    names = sorted(connection.companies.values_list("name", flat=True))
    bc_names = sorted(c["name"] for c in bc_emulator.bc.companies())
    assert names == bc_names and len(names) >= 2
    assert "companies:" in capsys.readouterr().out


def test_connect_updates_and_selects_company(connection, bc_emulator):
    company = bc_emulator.bc.companies()[1]
    call_command("connect", "cronus", "--company", company["id"])
    selected = list(connection.companies.filter(selected=True).values_list("bc_id", flat=True))
    assert [str(s) for s in selected] == [company["id"]]


def test_token_is_cached_between_calls(connection, emulator_transport):
    with BC(connection) as bc:
        bc.companies()
        bc.companies()
    assert emulator_transport.count("/oauth2/v2.0/token") == 1


def test_expired_token_is_renewed_ahead_of_expiry(connection, emulator_transport):
    with BC(connection) as bc:
        bc.companies()
    connection.refresh_from_db()
    token = connection.token
    token["expires_at"] = int(time.time()) + 10  # inside the refresh margin
    connection.token = token
    connection.save()
    with BC(connection) as bc:
        bc.companies()
    connection.refresh_from_db()
    assert emulator_transport.count("/oauth2/v2.0/token") == 2
    assert connection.token["access_token"] != token["access_token"]
    assert connection.current_token_status() == TokenStatus.VALID


def test_401_from_bc_refreshes_once_and_replays(connection, bc_emulator, emulator_transport):
    with BC(connection) as bc:
        bc.companies()
        # BC's clock moves past the token's expiry while bcbridge still thinks it is valid
        bc_emulator.clock.advance(2 * 3600)
        companies = bc.companies()
    assert companies
    assert emulator_transport.count("/oauth2/v2.0/token") == 2


def test_forged_token_gets_401_in_bc_shape(bc_emulator):
    config = bc_emulator.config
    with httpx.Client(transport=bc_emulator.transport(), base_url=config.base_url) as http:
        response = http.get(
            f"/v2.0/{config.tenant}/{config.environment}/api/v2.0/companies",
            headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl"},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Authentication_InvalidCredentials"


def test_wrong_secret_gives_clear_error_and_marks_connection(connection, emulator_transport):
    connection.client_secret = "not-the-secret"
    connection.save()
    with pytest.raises(InvalidClientCredentials) as info, BC(connection) as bc:
        bc.companies()
    assert info.value.codes == (7000215,)
    assert "invalid_client" in str(info.value)
    connection.refresh_from_db()
    assert connection.token_status == TokenStatus.CREDENTIALS_REJECTED  # fix the secret, not Authorize
    assert connection.status_error == "invalid_client" and "7000215" in connection.status_reason
    assert emulator_transport.count("/oauth2/v2.0/token") == 1  # no retry loop


def test_load_companies_marks_vanished_ones(connection):
    companies = load_companies(connection)
    assert companies[0].selected is False or len(companies) == 1
    gone = connection.companies.create(bc_id="00000000-0000-0000-0000-0000000000aa", name="Old", selected=True)
    load_companies(connection)
    gone.refresh_from_db()
    assert (gone.present, gone.selected) == (False, False)


def test_app_not_allowed_in_environment_raises_after_one_refresh(
    connection, bc_emulator, emulator_transport, monkeypatch
):
    from bcbridge.emulator.errors import BCError

    def refuse(request):
        raise BCError(401, "Authentication_InvalidCredentials", "The server has rejected the client credentials.")

    monkeypatch.setattr(bc_emulator.identity, "authenticate", refuse)
    with pytest.raises(AuthenticationFailed), BC(connection) as bc:
        bc.companies()
    assert emulator_transport.count("/api/v2.0/companies") == 2  # the call and one replay


def test_client_secret_basic_sends_http_basic_and_no_secret_in_the_body(connection, emulator_transport, monkeypatch):
    # RFC 6749 §2.3.1: HTTP Basic with the url-encoded client id and secret; never both methods.
    import base64
    from urllib.parse import parse_qs

    seen: list[httpx.Request] = []
    inner = emulator_transport.inner.handle_request

    def spy(request):
        if request.url.path.endswith("/token"):
            seen.append(request)
        return inner(request)

    monkeypatch.setattr(emulator_transport.inner, "handle_request", spy)
    connection.client_auth_method = "client_secret_basic"
    connection.save()
    with BC(connection) as bc:
        bc.tokens.acquire()
    (request,) = seen
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{connection.client_id}:{connection.client_secret}"
    assert "client_secret" not in parse_qs(request.content.decode())
