"""The Entra token endpoint against the documented client credentials samples (docs/bc §1.3, §1.5)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from ._samples import GUID, assert_documented_shape, load
from .conftest import client_credentials

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$")  # "2016-01-09 02:02:12Z"


def _assert_entra_error(answer: httpx.Response, error: str, aadsts: int) -> dict[str, Any]:
    sample = load("token_client_credentials")["error"]
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    documented = sample["body"]
    members = [k for k in body if k not in sample["optional_members"]]
    assert members == list(documented), "members and order of the documented error"
    assert body["error"] == error
    assert body["error_codes"] == [aadsts]
    assert STAMP.match(body["timestamp"])
    assert GUID.match(body["trace_id"]) and GUID.match(body["correlation_id"])
    # error_description: "AADSTS<n>: <text>\r\nTrace ID: <trace_id>\r\nCorrelation ID: <id>\r\nTimestamp: <ts>"
    text, trace, correlation, stamp = body["error_description"].split("\r\n")
    assert text.startswith(f"AADSTS{aadsts}: ")
    assert trace == f"Trace ID: {body['trace_id']}"
    assert correlation == f"Correlation ID: {body['correlation_id']}"
    assert stamp == f"Timestamp: {body['timestamp']}"
    if "error_uri" in body:
        assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={aadsts}"
    return body


def test_success_shape(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    sample = load("token_client_credentials")["success"]
    answer = client_credentials(bc_emulator_http, bc_emulator)
    assert answer.status_code == sample["status"]
    body = answer.json()
    # Entra's two token samples list the members in different orders: order is not compared.
    assert_documented_shape(body, sample["body"], "token", ordered=False)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == sample["body"]["expires_in"]
    assert "refresh_token" not in body  # the client credentials flow never returns one


def test_unknown_scope_is_the_documented_invalid_scope(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    sample = load("token_client_credentials")["error"]
    answer = client_credentials(bc_emulator_http, bc_emulator, scope=sample["scope"])
    assert answer.status_code == sample["status"]
    body = _assert_entra_error(answer, "invalid_scope", 70011)
    documented_text = sample["body"]["error_description"].split("\r\n")[0]
    assert body["error_description"].split("\r\n")[0] == documented_text


def test_client_credentials_over_common(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    case = load("token_client_credentials")["common_endpoint"]
    answer = client_credentials(bc_emulator_http, bc_emulator, tenant=case["tenant"])
    assert answer.status_code == 400
    body = _assert_entra_error(answer, "invalid_request", case["aadsts"])
    assert "isn't supported over the /common or /consumers endpoints" in body["error_description"]


def test_wrong_secret_is_invalid_client(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    case = load("token_client_credentials")["wrong_secret"]
    answer = client_credentials(bc_emulator_http, bc_emulator, client_secret="not-the-secret")
    # 400 or 401: which one Entra uses for invalid_client is UNVERIFIED (docs/bc §1.5)
    assert answer.status_code in (400, 401)
    _assert_entra_error(answer, case["error"], case["aadsts"])
