"""Bound actions and authentication against the documented behaviour (docs/bc §2.4, §8)."""

from __future__ import annotations

from typing import Any

import httpx

from ._samples import assert_error_body, load


def test_posting_a_draft_invoice(api: httpx.Client, company_url: str) -> None:
    sample = load("salesinvoice_actions")
    # A draft made by deep insert, as on the 'Create salesInvoiceLines' page (docs/bc §2.6).
    customer = api.get(f"{company_url}/customers", params={"$top": "1"}).json()["value"][0]
    item = api.get(f"{company_url}/items", params={"$top": "1"}).json()["value"][0]
    created = api.post(
        f"{company_url}/salesInvoices",
        json={
            "customerNumber": customer["number"],
            "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 3}],
        },
    )
    assert created.status_code == 201, created.text
    draft: dict[str, Any] = created.json()
    assert draft["status"] in sample["statuses"]
    answer = api.post(f"{company_url}/salesInvoices({draft['id']})/Microsoft.NAV.post")
    assert answer.status_code == sample["response"]["status"], answer.text
    assert answer.content == b""
    posted = api.get(f"{company_url}/salesInvoices({draft['id']})")  # the draft's id reads the posted invoice
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == sample["after_post"]


def test_no_token_is_401(bc_emulator_http: httpx.Client, prefix: str) -> None:
    """HTTP status table: 401 when the request 'lacks valid authentication credentials';
    error table: ``Authentication_InvalidCredentials``, "The server has rejected the client credentials"."""
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = bc_emulator_http.get(f"{prefix}/companies", headers=headers)
        assert answer.status_code == 401
        assert_error_body(
            answer.json(), "Authentication_InvalidCredentials", "The server has rejected the client credentials"
        )
