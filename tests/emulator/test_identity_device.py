"""The device code flow and instance discovery of the emulated Entra ID, over plain HTTP.

Sources: "Microsoft identity platform and the OAuth 2.0 device authorization grant flow"
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code) and RFC 8628;
instance discovery as MSAL for Python reads it (``msal/authority.py``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.config import BC_SCOPE

BASE = "http://bc.emulator.test"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = f"{BC_SCOPE} offline_access openid profile"


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(EmulatorConfig(base_url=BASE, public_client=True))


@pytest.fixture
def http(emulator: Emulator) -> Any:
    with httpx.Client(transport=emulator.transport(), base_url=BASE) as client:
        yield client


def _start(http: httpx.Client, emulator: Emulator) -> dict[str, Any]:
    answer = http.post(
        f"/{emulator.config.tenant}/oauth2/v2.0/devicecode",
        data={"client_id": emulator.config.client_id, "scope": SCOPE},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _poll(http: httpx.Client, emulator: Emulator, device_code: str) -> httpx.Response:
    return http.post(
        f"/{emulator.config.tenant}/oauth2/v2.0/token",
        data={"grant_type": DEVICE_GRANT, "client_id": emulator.config.client_id, "device_code": device_code},
    )


def _sign_in(http: httpx.Client, uri: str, user_code: str, action: str = "accept", password: str = "demo") -> str:
    page = http.post(uri, data={"otc": user_code})
    form = _Inputs()
    form.feed(page.text)
    return http.post(uri, data={**form.fields, "password": password, "action": action}).text


def test_device_authorization_response_has_the_documented_fields(http: httpx.Client, emulator: Emulator) -> None:
    flow = _start(http, emulator)
    assert set(flow) == {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"}
    assert flow["expires_in"] == 900 and flow["interval"] == 5  # the document's sample values
    assert flow["user_code"] in flow["message"] and flow["verification_uri"] in flow["message"]


def test_discovery_names_the_device_endpoint(http: httpx.Client, emulator: Emulator) -> None:
    tenant = emulator.config.tenant
    discovery = http.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert discovery["device_authorization_endpoint"] == f"{BASE}/{tenant}/oauth2/v2.0/devicecode"


def test_pending_then_tokens_then_single_use(http: httpx.Client, emulator: Emulator) -> None:
    flow = _start(http, emulator)
    pending = _poll(http, emulator, flow["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    assert "signed in" in _sign_in(http, flow["verification_uri"], flow["user_code"])
    tokens = _poll(http, emulator, flow["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert {"access_token", "refresh_token", "id_token", "token_type", "expires_in", "scope"} <= set(tokens.json())
    again = _poll(http, emulator, flow["device_code"])
    assert again.status_code == 400 and "access_token" not in again.json()


def test_declined_expired_and_bad_codes(http: httpx.Client, emulator: Emulator) -> None:
    declined = _start(http, emulator)
    assert "cancelled" in _sign_in(http, declined["verification_uri"], declined["user_code"], action="cancel")
    assert _poll(http, emulator, declined["device_code"]).json()["error"] == "authorization_declined"

    expired = _start(http, emulator)
    emulator.clock.advance(expired["expires_in"] + 1)
    assert _poll(http, emulator, expired["device_code"]).json()["error"] == "expired_token"
    late = http.post(expired["verification_uri"], data={"otc": expired["user_code"]})
    assert 'id="error"' in late.text  # an expired user code is not accepted on the page

    assert _poll(http, emulator, "not-a-device-code").json()["error"] == "bad_verification_code"


def test_wrong_password_keeps_the_code_pending(http: httpx.Client, emulator: Emulator) -> None:
    flow = _start(http, emulator)
    page = _sign_in(http, flow["verification_uri"], flow["user_code"], password="wrong")
    assert "incorrect" in page
    assert _poll(http, emulator, flow["device_code"]).json()["error"] == "authorization_pending"


def test_device_grant_needs_a_public_client_or_a_secret() -> None:
    emulator = Emulator(EmulatorConfig(base_url=BASE))  # confidential registration
    with httpx.Client(transport=emulator.transport(), base_url=BASE) as http:
        flow = _start(http, emulator)
        answer = _poll(http, emulator, flow["device_code"])
        assert answer.json()["error"] == "invalid_client"


def test_instance_discovery(http: httpx.Client, emulator: Emulator) -> None:
    tenant = emulator.config.tenant
    answer = http.get(
        "/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": f"{BASE}/{tenant}/oauth2/v2.0/authorize"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["tenant_discovery_endpoint"] == f"{BASE}/{tenant}/v2.0/.well-known/openid-configuration"
    assert body["api-version"] == "1.1"
    (entry,) = body["metadata"]
    assert entry["preferred_network"] == "bc.emulator.test" and "bc.emulator.test" in entry["aliases"]
    other = http.get(
        "/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": "https://login.example.com/x/oauth2/v2.0/authorize"},
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_instance"
