"""Injected faults: by script and by seeded probability, each kind, in-process and on a
real socket, and through ``PUT /_emulator/faults``."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from werkzeug.wrappers import Request, Response

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.errors import json_response
from bcbridge.emulator.faults import FaultRule
from bcbridge.emulator.limits import Limits
from bcbridge.emulator.server import EmulatorServer
from bcbridge.emulator.tls import ensure_certificates

ITEMS = "/v2.0/production/api/v2.0/companies(1)/items"
CUSTOMERS = "/v2.0/production/api/v2.0/companies(1)/customers"


class CountingBC:
    """A BC handler that authenticates like BC and counts what it processed."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.processed: list[str] = []

    def handle(self, request: Request) -> Response:
        self.emulator.identity.authenticate(request)
        self.processed.append(f"{request.method} {request.path}")
        return json_response(
            {"value": [{"id": str(n), "displayName": f"Item {n}"} for n in range(20)]}
        )


def make(
    seed: int = 1, **config: object
) -> tuple[Emulator, CountingBC, httpx.Client, dict[str, str]]:
    emulator = Emulator(EmulatorConfig(base_url="http://bc.emulator.test", seed=seed, **config))  # type: ignore[arg-type]
    bc = CountingBC(emulator)
    emulator.bc = bc  # type: ignore[assignment]
    http = httpx.Client(transport=emulator.transport(), base_url=emulator.config.base_url)
    token, _ = emulator.identity.issue_access_token(
        emulator.identity.app_subject(), delegated=False
    )
    return emulator, bc, http, {"Authorization": f"Bearer {token}"}


def test_script_fails_the_next_n_matching_requests() -> None:
    emulator, bc, http, auth = make()
    emulator.control.faults.add(fault="503", count=2, method="GET", path=r"/items$", retry_after=7)
    assert http.get(CUSTOMERS, headers=auth).status_code == 200  # path does not match
    assert http.post(ITEMS, headers=auth, json={}).status_code == 200  # method does not match
    first = http.get(ITEMS, headers=auth)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "7"
    assert first.json()["error"]["code"] == "Internal_ServiceUnavailable"
    assert http.get(ITEMS, headers=auth).status_code == 503
    assert http.get(ITEMS, headers=auth).status_code == 200
    assert emulator.control.faults.rules() == []
    # "before" faults never reach BC
    assert bc.processed == [f"GET {CUSTOMERS}", f"POST {ITEMS}", f"GET {ITEMS}"]


@pytest.mark.parametrize(
    ("fault", "retry_after"), [("429", "1"), ("500", None), ("502", "1"), ("504", None)]
)
def test_status_faults(fault: str, retry_after: str | None) -> None:
    emulator, _, http, auth = make()
    emulator.control.faults.add(fault=fault, count=1)
    answer = http.get(ITEMS, headers=auth)
    assert answer.status_code == int(fault)
    assert answer.headers.get("Retry-After") == retry_after
    assert answer.json()["error"]["message"].endswith(".")


def test_probability_faults_are_reproducible_with_a_seed() -> None:
    def run(seed: int) -> list[int]:
        emulator, _, http, auth = make(seed=seed)
        emulator.control.faults.add(fault="500", probability=0.3)
        return [http.get(ITEMS, headers=auth).status_code for _ in range(60)]

    first, again, other = run(11), run(11), run(12)
    assert first == again
    assert first != other
    assert 5 <= first.count(500) <= 35


def test_reset_in_process_is_a_transport_error() -> None:
    emulator, bc, http, auth = make()
    emulator.control.faults.add(fault="reset", count=1)
    with pytest.raises(httpx.TransportError):
        http.get(ITEMS, headers=auth)
    assert http.get(ITEMS, headers=auth).status_code == 200
    assert emulator.control.counters()["by_status"] == {"none": 1, "200": 1}
    assert emulator.control.requests()[0]["fault"] == "reset"
    assert len(bc.processed) == 1


def test_reset_on_a_real_socket_is_a_transport_error() -> None:
    emulator, _, _, auth = make()
    emulator.control.faults.add(fault="reset", count=1)
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        with pytest.raises(httpx.TransportError):
            http.get(ITEMS, headers=auth)
        assert http.get(ITEMS, headers=auth).status_code == 200


def test_reset_over_tls_is_a_transport_error_too(tmp_path: Path) -> None:
    # the TLS front drops the client's connection when the emulator drops its own
    emulator, _, _, auth = make()
    emulator.control.faults.add(fault="reset", count=1)
    files = ensure_certificates(tmp_path / "tls")
    with (
        EmulatorServer(emulator, tls=files) as server,
        httpx.Client(base_url=server.url, timeout=5, verify=files.client_context()) as http,
    ):
        with pytest.raises(httpx.TransportError):
            http.get(ITEMS, headers=auth)
        assert http.get(ITEMS, headers=auth).status_code == 200


def test_truncated_response_keeps_status_and_cuts_the_body() -> None:
    emulator, _, http, auth = make()
    whole = http.get(ITEMS, headers=auth).content
    emulator.control.faults.add(fault="truncate", count=1)
    cut = http.get(ITEMS, headers=auth)
    assert cut.status_code == 200
    assert cut.content == whole[: len(whole) // 2]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_truncated_response_on_a_real_socket() -> None:
    emulator, _, _, auth = make()
    emulator.control.faults.add(fault="truncate", count=1)
    with EmulatorServer(emulator) as server:
        cut = httpx.get(server.url + ITEMS, headers=auth, timeout=5)
    assert cut.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_slow_response_and_slow_beyond_the_operation_timeout() -> None:
    # no timed assertion: the request log says which fault applied, and the 408 plus BC never
    # seeing the request show the operation timeout cut the 30-second delay short
    emulator, bc, http, auth = make(limits=Limits(operation_timeout=0.6))
    emulator.control.faults.add(fault="slow", delay=0.1, count=1)
    assert http.get(ITEMS, headers=auth).status_code == 200
    emulator.control.faults.add(fault="slow", delay=30, count=1)
    assert http.get(ITEMS, headers=auth).status_code == 408
    assert [r["fault"] for r in emulator.control.requests()] == ["slow", "slow"]
    assert len(bc.processed) == 1  # the timed-out request never reached BC


def test_after_faults_let_bc_process_the_request_first() -> None:
    emulator, bc, http, auth = make()
    emulator.control.faults.add(fault="504", count=1, method="POST", after=True)
    emulator.control.faults.add(fault="reset", count=1, method="PATCH", after=True)
    assert http.post(ITEMS, headers=auth, json={"displayName": "x"}).status_code == 504
    with pytest.raises(httpx.TransportError):
        http.patch(ITEMS, headers=auth, json={})
    assert bc.processed == [f"POST {ITEMS}", f"PATCH {ITEMS}"]


def test_identity_target() -> None:
    emulator, _, http, _ = make()
    config = emulator.config
    form = {
        "grant_type": "client_credentials",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "scope": BC_SCOPE,
    }
    emulator.control.faults.add(fault="503", probability=1.0)  # target "bc" by default
    assert http.post(f"/{config.tenant}/oauth2/v2.0/token", data=form).status_code == 200
    emulator.control.faults.set(
        [FaultRule(fault="503", count=1, target="identity", path="/token$")]
    )
    assert http.post(f"/{config.tenant}/oauth2/v2.0/token", data=form).status_code == 503
    assert http.post(f"/{config.tenant}/oauth2/v2.0/token", data=form).status_code == 200


def test_faults_over_http_with_seed() -> None:
    emulator, _, http, auth = make()
    body = {"seed": 3, "rules": [{"fault": "502", "count": 1, "path": "items"}]}
    assert http.put("/_emulator/faults", json=body).status_code == 200
    assert http.get(ITEMS, headers=auth).status_code == 502
    assert http.get(ITEMS, headers=auth).status_code == 200
    assert emulator.control.counters()["faults"] == {"502": 1}


@pytest.mark.parametrize(
    "bad",
    [
        {"fault": "200"},
        {"fault": "boom"},
        {"fault": "500", "probability": 2},
        {"fault": "500", "count": 0},
        {"fault": "500", "target": "db"},
        {"fault": "500", "path": "("},
    ],
)
def test_rule_validation(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        FaultRule.from_dict(bad)
