"""The control API (``/_emulator/...``) over HTTP and its Python twin.

The BC side is replaced by a recording fake, so these tests check the control API's own
contract: which BC interface it calls, with what, and how it answers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.errors import BCError, json_response


class RecordingBC:
    """Stands in for ``emulator.bc``: records the control API's calls."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.calls: list[tuple[Any, ...]] = []

    def handle(self, request: Request) -> Response:
        self.emulator.identity.authenticate(request)
        return json_response({"value": []})

    def reset(self, seed: int | None = None) -> None:
        self.calls.append(("reset", seed))

    def create(self, company_id: str, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", company_id, entity_set, body))
        return {"id": "new-id", **body, "@odata.etag": 'W/"1"'}

    def change(
        self, company_id: str, entity_set: str, key: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        if key == "missing":
            raise BCError(404, "BadRequest_NotFound", "The record does not exist.")
        self.calls.append(("change", company_id, entity_set, key, changes))
        return {"id": key, **changes, "@odata.etag": 'W/"2"'}

    def delete(self, company_id: str, entity_set: str, key: str) -> None:
        self.calls.append(("delete", company_id, entity_set, key))


@pytest.fixture
def emulator() -> Emulator:
    emulator = Emulator(EmulatorConfig(base_url="http://bc.emulator.test", seed=5))
    emulator.bc = RecordingBC(emulator)  # type: ignore[assignment]
    return emulator


@pytest.fixture
def http(emulator: Emulator) -> httpx.Client:
    return httpx.Client(transport=emulator.transport(), base_url=emulator.config.base_url)


def app_token(http: httpx.Client, config: EmulatorConfig) -> str:
    answer = http.post(
        f"/{config.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": BC_SCOPE,
        },
    )
    return answer.json()["access_token"]


def test_info_names_the_tenant_and_urls(http: httpx.Client, emulator: Emulator) -> None:
    info = http.get("/_emulator").json()
    assert info["tenant"] == emulator.config.tenant
    assert info["environment"] == "production"
    assert (
        info["apiUrl"]
        == f"http://bc.emulator.test/v2.0/{emulator.config.tenant}/production/api/v2.0"
    )
    assert info["tokenEndpoint"].endswith("/oauth2/v2.0/token")


def test_clock_get_and_advance(http: httpx.Client, emulator: Emulator) -> None:
    before = http.get("/_emulator/clock").json()
    assert abs(before["offset_seconds"]) < 1
    after = http.post("/_emulator/clock", json={"advance": 3600}).json()
    assert 3599 < after["offset_seconds"] < 3601
    assert after["now"].endswith("Z")
    assert http.post("/_emulator/clock", json={"advance": "soon"}).status_code == 400


def test_reset_rebuilds_bc_and_clears_everything_else(
    http: httpx.Client, emulator: Emulator
) -> None:
    token = app_token(http, emulator.config)
    http.get("/v2.0/production/api/v2.0/companies", headers={"Authorization": f"Bearer {token}"})
    emulator.control.faults.add(fault="500", path="nothing-matches-this")
    emulator.control.set_limits(requests_per_window=2)
    emulator.clock.advance(999)

    answer = http.post("/_emulator/reset", json={"seed": 42})
    assert answer.json() == {"reset": True, "seed": 42}
    assert emulator.bc.calls == [("reset", 42)]  # type: ignore[attr-defined]
    assert http.get("/_emulator/counters").json()["total"] == 0
    assert http.get("/_emulator/faults").json() == {"seed": 42, "rules": []}
    assert http.get("/_emulator/limits").json()["requests_per_window"] == 6000
    assert abs(http.get("/_emulator/clock").json()["offset_seconds"]) < 1
    assert http.post("/_emulator/reset").json()["seed"] == 5
    assert http.post("/_emulator/reset", json={"seed": "x"}).status_code == 400


def test_reset_clears_identity_grants(http: httpx.Client, emulator: Emulator) -> None:
    from bcbridge.emulator._grants import RefreshGrant

    grant = RefreshGrant(
        client_id=emulator.config.client_id,
        scope=BC_SCOPE,
        subject=emulator.identity.user_subject(),
        expires_at=1e12,
    )
    emulator.identity.grants.issue_refresh_token(grant)
    emulator.control.reset()
    assert emulator.identity.revoke_refresh_tokens() == 0


def test_records_call_the_bc_interface(http: httpx.Client, emulator: Emulator) -> None:
    created = http.post("/_emulator/companies/c1/items", json={"displayName": "Bolt"})
    assert created.status_code == 201
    assert created.json()["displayName"] == "Bolt"
    changed = http.patch("/_emulator/companies/c1/items/abc", json={"unitPrice": 3.5})
    assert changed.status_code == 200
    assert changed.json()["@odata.etag"] == 'W/"2"'
    deleted = http.delete("/_emulator/companies/c1/items/abc")
    assert deleted.status_code == 204
    assert emulator.bc.calls == [  # type: ignore[attr-defined]
        ("create", "c1", "items", {"displayName": "Bolt"}),
        ("change", "c1", "items", "abc", {"unitPrice": 3.5}),
        ("delete", "c1", "items", "abc"),
    ]
    missing = http.patch("/_emulator/companies/c1/items/missing", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "BadRequest_NotFound"
    assert http.post("/_emulator/companies/c1/items", content=b"[1]").status_code == 400


def test_python_twin_calls_the_same_interface(emulator: Emulator) -> None:
    control = emulator.control
    assert control.create("c1", "customers", {"displayName": "A"})["id"] == "new-id"
    control.change("c1", "customers", "k", {"displayName": "B"})
    control.delete("c1", "customers", "k")
    assert [call[0] for call in emulator.bc.calls] == ["create", "change", "delete"]  # type: ignore[attr-defined]


def test_revoke_over_http(http: httpx.Client, emulator: Emulator) -> None:
    assert http.post("/_emulator/identity/revoke", json={}).json() == {"revoked": 0}
    assert http.post("/_emulator/identity/revoke", json={"user": 7}).status_code == 400


def test_limits_get_and_put(http: httpx.Client, emulator: Emulator) -> None:
    limits = http.get("/_emulator/limits").json()
    assert limits["requests_per_window"] == 6000
    assert limits["max_concurrent"] == 5
    assert limits["max_queued"] == 95
    changed = http.put("/_emulator/limits", json={"requests_per_window": 10, "queue_timeout": 0.5})
    assert changed.json()["requests_per_window"] == 10
    assert emulator.control.limits.queue_timeout == 0.5
    assert http.put("/_emulator/limits", json={"speed": 1}).status_code == 400
    assert http.put("/_emulator/limits", json={"max_queued": -1}).status_code == 400


def test_faults_put_get_post_delete(http: httpx.Client, emulator: Emulator) -> None:
    put = http.put(
        "/_emulator/faults",
        json={"seed": 9, "rules": [{"fault": "503", "count": 2, "method": "GET"}]},
    )
    assert put.status_code == 200
    assert put.json()["seed"] == 9
    assert put.json()["rules"][0]["fault"] == "503"
    http.post("/_emulator/faults", json={"rules": [{"fault": "reset", "probability": 0.5}]})
    assert [rule["fault"] for rule in http.get("/_emulator/faults").json()["rules"]] == [
        "503",
        "reset",
    ]
    assert http.delete("/_emulator/faults").json()["rules"] == []
    assert http.put("/_emulator/faults", json={"rules": [{"fault": "teapot"}]}).status_code == 400
    assert (
        http.put(
            "/_emulator/faults", json={"rules": [{"fault": "500", "colour": "red"}]}
        ).status_code
        == 400
    )


def test_request_log_and_counters(http: httpx.Client, emulator: Emulator) -> None:
    token = app_token(http, emulator.config)
    for _ in range(3):
        http.get(
            "/v2.0/production/api/v2.0/companies?$top=1",
            headers={"Authorization": f"Bearer {token}"},
        )
    http.get("/v2.0/production/api/v2.0/companies")
    entries = http.get("/_emulator/requests", params={"limit": 2}).json()["value"]
    assert len(entries) == 2
    assert entries[0]["path"] == "/v2.0/production/api/v2.0/companies?$top=1"
    assert entries[0]["status"] == 200
    assert entries[0]["user"] == emulator.identity.app_subject().oid
    assert entries[1]["status"] == 401
    assert entries[1]["user"] is None
    assert entries[1]["duration_ms"] >= 0
    counters = http.get("/_emulator/counters").json()
    assert counters["by_status"] == {"200": 4, "401": 1}
    assert counters["by_kind"] == {"identity": 1, "bc": 4}
    assert counters["total"] == 5
    assert http.delete("/_emulator/requests").status_code == 204
    assert http.get("/_emulator/requests").json() == {"value": []}
    assert http.get("/_emulator/requests?limit=x").status_code == 400


def test_unknown_endpoint_and_method(http: httpx.Client) -> None:
    assert http.get("/_emulator/nothing").status_code == 404
    wrong = http.delete("/_emulator/clock")
    assert wrong.status_code == 405
    assert "GET" in wrong.json()["error"]["message"]
