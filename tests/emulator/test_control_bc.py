"""Identity, guard and control API together with the real BC side of the emulator."""

from __future__ import annotations

import httpx

from bcbridge.emulator import Emulator
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.pytest_plugin import bc_emulator, bc_emulator_config, bc_emulator_http

__all__ = ["bc_emulator", "bc_emulator_config", "bc_emulator_http"]


def api(emulator: Emulator) -> str:
    config = emulator.config
    return f"/v2.0/{config.tenant}/{config.environment}/api/v2.0"


def token(http: httpx.Client, emulator: Emulator) -> dict[str, str]:
    config = emulator.config
    answer = http.post(
        f"/{config.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": BC_SCOPE,
        },
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_bc_requires_a_valid_token(bc_emulator_http: httpx.Client, bc_emulator: Emulator) -> None:
    auth = token(bc_emulator_http, bc_emulator)
    companies = bc_emulator_http.get(f"{api(bc_emulator)}/companies", headers=auth)
    assert companies.status_code == 200
    assert companies.json()["value"]

    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        rejected = bc_emulator_http.get(f"{api(bc_emulator)}/companies", headers=headers)
        assert rejected.status_code == 401
        assert rejected.json()["error"]["code"] == "Authentication_InvalidCredentials"
        assert rejected.headers["WWW-Authenticate"].startswith("Bearer")

    bc_emulator.clock.advance(bc_emulator.config.access_token_lifetime + 1)
    expired = bc_emulator_http.get(f"{api(bc_emulator)}/companies", headers=auth)
    assert expired.status_code == 401


def test_records_changed_through_the_control_api_show_in_bc(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    auth = token(bc_emulator_http, bc_emulator)
    company = bc_emulator.bc.companies()[0]["id"]
    created = bc_emulator_http.post(
        f"/_emulator/companies/{company}/customers", json={"displayName": "Control Tower Ltd"}
    )
    assert created.status_code == 201, created.text
    record = created.json()
    url = f"{api(bc_emulator)}/companies({company})/customers({record['id']})"
    assert bc_emulator_http.get(url, headers=auth).json()["displayName"] == "Control Tower Ltd"

    changed = bc_emulator_http.patch(
        f"/_emulator/companies/{company}/customers/{record['id']}", json={"displayName": "Renamed"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["@odata.etag"] != record["@odata.etag"]
    assert bc_emulator_http.get(url, headers=auth).json()["displayName"] == "Renamed"

    deleted = bc_emulator_http.delete(f"/_emulator/companies/{company}/customers/{record['id']}")
    assert deleted.status_code == 204
    assert bc_emulator_http.get(url, headers=auth).status_code == 404

    unknown = bc_emulator_http.post("/_emulator/companies/nope/customers", json={})
    assert unknown.status_code in (400, 404)
    assert unknown.json()["error"]["code"]


def test_reset_restores_the_seeded_data(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    company = bc_emulator.bc.companies()[0]["id"]
    auth = token(bc_emulator_http, bc_emulator)
    customers = f"{api(bc_emulator)}/companies({company})/customers"
    before = bc_emulator_http.get(customers, headers=auth).json()["value"]
    bc_emulator.control.create(company, "customers", {"displayName": "Temporary"})
    assert bc_emulator_http.post("/_emulator/reset", json={}).status_code == 200
    auth = token(bc_emulator_http, bc_emulator)
    assert bc_emulator_http.get(customers, headers=auth).json()["value"] == before
    kinds = [entry["kind"] for entry in bc_emulator.control.requests()]
    assert kinds == ["identity", "bc"]
