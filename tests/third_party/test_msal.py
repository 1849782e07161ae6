"""Microsoft's MSAL for Python, unchanged, against the emulator on Entra's own https name.

MSAL refuses any authority that is not https, so before ``--tls`` it could not talk to the
emulator at all (issue #12). Every expected value here comes from Microsoft's documents
(cited per test) or from MSAL's own contract, never from the emulator's output.
"""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
import pytest

from bcbridge.emulator.server import EmulatorServer
from tests.signin import sign_in

from .conftest import API, AUTHORITY, BC_SCOPE, REDIRECT_URI, tls_config

pytestmark = [
    pytest.mark.third_party,
    # MSAL's advice to the app (form_post, poll interval), not a fault of the server
    pytest.mark.filterwarnings("ignore::UserWarning:msal.oauth2cli.oauth2"),
]

DELEGATED = [f"{API}/Financials.ReadWrite.All"]


def _claims(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _companies(server: EmulatorServer, token: str) -> httpx.Response:
    config = server.emulator.config
    return httpx.get(
        f"{API}/v2.0/{config.tenant}/{config.environment}/api/v2.0/companies",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_client_credentials_token_calls_bc(tls_emulator: EmulatorServer) -> None:
    # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    # (scope "{resource}/.default", token_type Bearer); BC's scope: docs/bc/0-quick-reference.md §0
    config = tls_emulator.emulator.config
    app = msal.ConfidentialClientApplication(
        config.client_id, client_credential=config.client_secret, authority=f"{AUTHORITY}/{config.tenant}"
    )
    result = app.acquire_token_for_client(scopes=[BC_SCOPE])
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer"
    assert result["token_source"] == "identity_provider"
    assert _claims(result["access_token"])["aud"] == API
    assert app.acquire_token_for_client(scopes=[BC_SCOPE])["token_source"] == "cache"
    companies = _companies(tls_emulator, result["access_token"])
    assert companies.status_code == 200
    assert companies.json()["@odata.context"].startswith(f"{API}/v2.0/")


def test_wrong_secret_surfaces_entras_error_not_a_discovery_404(tls_emulator: EmulatorServer) -> None:
    # AADSTS7000215 "Invalid client secret provided" (Entra error codes reference,
    # https://learn.microsoft.com/entra/identity-platform/reference-error-codes). MSAL calls
    # instance discovery after a token error; a 404 there used to hide this.
    config = tls_emulator.emulator.config
    app = msal.ConfidentialClientApplication(
        config.client_id, client_credential="not-the-secret", authority=f"{AUTHORITY}/{config.tenant}"
    )
    result = app.acquire_token_for_client(scopes=[BC_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215")


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


@pytest.fixture
def tls_emulator_config():  # type: ignore[no-untyped-def]
    return tls_config(public_client=True)


def test_auth_code_with_pkce_then_silent_refresh(tls_emulator: EmulatorServer) -> None:
    # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow:
    # code + PKCE -> access, refresh and id tokens; MSAL's acquire_token_silent with
    # force_refresh redeems the refresh token (refresh-tokens.md).
    config = tls_emulator.emulator.config
    app = msal.PublicClientApplication(config.client_id, authority=f"{AUTHORITY}/{config.tenant}")
    flow = app.initiate_auth_code_flow(scopes=DELEGATED, redirect_uri=REDIRECT_URI)
    assert flow["auth_uri"].startswith(f"{AUTHORITY}/{config.tenant}/oauth2/v2.0/authorize?")
    assert "code_challenge=" in flow["auth_uri"]
    with httpx.Client() as browser:
        location = sign_in(browser, flow["auth_uri"])
    assert location.startswith(REDIRECT_URI)
    result = app.acquire_token_by_auth_code_flow(flow, dict(parse_qsl(urlsplit(location).query)))
    assert "access_token" in result, result
    assert "refresh_token" in result
    assert result["id_token_claims"]["preferred_username"] == config.demo_user_email
    (account,) = app.get_accounts()
    assert account["username"] == config.demo_user_email
    # MSAL keys accounts by client_info uid.utid (MSAL's account model)
    assert account["home_account_id"] == f"{_claims(result['access_token'])['oid']}.{config.tenant}"
    refreshed = app.acquire_token_silent(DELEGATED, account=account, force_refresh=True)
    assert refreshed is not None and "access_token" in refreshed, refreshed
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]
    assert _companies(tls_emulator, refreshed["access_token"]).status_code == 200


def test_device_code_flow_through_the_sign_in_page(tls_emulator: EmulatorServer) -> None:
    # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code: the device
    # gets user_code/device_code/verification_uri/expires_in/interval/message, polls with
    # authorization_pending until the user has entered the code and signed in.
    config = tls_emulator.emulator.config
    app = msal.PublicClientApplication(config.client_id, authority=f"{AUTHORITY}/{config.tenant}")
    flow = app.initiate_device_flow(scopes=DELEGATED)
    assert {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"} <= set(flow)
    assert flow["user_code"] in flow["message"] and flow["verification_uri"] in flow["message"]

    pending = app.acquire_token_by_device_flow(dict(flow), exit_condition=lambda flow: True)
    assert pending["error"] == "authorization_pending"

    with httpx.Client() as browser:
        page = browser.get(flow["verification_uri"])
        assert page.status_code == 200 and 'name="otc"' in page.text
        wrong = browser.post(flow["verification_uri"], data={"otc": "NOTACODE1"})
        assert 'id="error"' in wrong.text
        signin = browser.post(flow["verification_uri"], data={"otc": flow["user_code"]})
        form = _Form()
        form.feed(signin.text)
        assert "password" in form.fields
        done = browser.post(
            flow["verification_uri"], data={**form.fields, "password": config.demo_user_password, "action": "accept"}
        )
        assert done.status_code == 200 and "signed in" in done.text

    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == config.demo_user_email
    assert _companies(tls_emulator, result["access_token"]).status_code == 200
    # a device code is redeemed once (RFC 8628 §3.5: the code is single-use)
    again = app.acquire_token_by_device_flow(dict(flow), exit_condition=lambda flow: True)
    assert "access_token" not in again
