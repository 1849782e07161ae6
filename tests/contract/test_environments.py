"""The environments list against its documented shape (docs/bc §2.1, §10)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._samples import GUID, load


@pytest.mark.parametrize("version", ["v1.1", "v1.2"])
def test_environments_list(api: httpx.Client, bc_emulator: Any, version: str) -> None:
    sample = load("environments_list")
    answer = api.get(f"/environments/{version}")
    assert answer.status_code == sample["response"]["status"], answer.text
    body = answer.json()
    assert list(body) == ["value"]
    names = []
    for environment in body["value"]:
        for member, kind in sample["response"]["members"].items():
            assert isinstance(environment[member], str), member
            if kind == "guid":
                assert GUID.match(environment[member]), environment[member]
        assert environment["aadTenantId"] == bc_emulator.config.tenant
        assert environment["type"] in sample["response"]["types"]
        names.append(environment["name"])
    assert bc_emulator.config.environment in names
