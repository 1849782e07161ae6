"""Fixtures of the contract tests: the emulator from its pytest plugin and a client holding a
token obtained the documented way (client credentials, docs/bc §1.3).

``api`` sends requests to the emulator in-process (``bc_emulator_http``) with
``Authorization: Bearer <token>``; ``prefix`` is the API v2.0 root of the emulated
environment, ``/v2.0/{tenant}/{environment}/api/v2.0`` (docs/bc §2.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"


def client_credentials(http: httpx.Client, emulator: Any, **form: str) -> httpx.Response:
    """The documented token request: a form POST to ``/{tenant}/oauth2/v2.0/token``."""
    config = emulator.config
    fields = {
        "client_id": config.client_id,
        "scope": BC_SCOPE,
        "client_secret": config.client_secret,
        "grant_type": "client_credentials",
        **form,
    }
    tenant = fields.pop("tenant", config.tenant)
    return http.post(f"/{tenant}/oauth2/v2.0/token", data=fields)


@pytest.fixture
def api(bc_emulator: Any, bc_emulator_http: httpx.Client) -> Iterator[httpx.Client]:
    answer = client_credentials(bc_emulator_http, bc_emulator)
    assert answer.status_code == 200, answer.text
    with httpx.Client(
        transport=bc_emulator.transport(),
        base_url=bc_emulator.config.base_url,
        headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
    ) as http:
        yield http


@pytest.fixture
def prefix(bc_emulator: Any) -> str:
    config = bc_emulator.config
    return f"/v2.0/{config.tenant}/{config.environment}/api/v2.0"


@pytest.fixture
def company(api: httpx.Client, prefix: str) -> dict[str, Any]:
    """The first company the emulator lists."""
    answer = api.get(f"{prefix}/companies")
    assert answer.status_code == 200, answer.text
    first: dict[str, Any] = answer.json()["value"][0]
    return first


@pytest.fixture
def company_url(prefix: str, company: dict[str, Any]) -> str:
    return f"{prefix}/companies({company['id']})"
