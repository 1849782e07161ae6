"""Query options as Microsoft's pages use them (docs/bc §3)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ._samples import load

SAMPLES = load("queries")


def _get(api: httpx.Client, company_url: str, relative: str) -> httpx.Response:
    return api.get(f"{company_url}/{quote(relative, safe='/?&=$(),')}")


def test_incremental_sync_filter(api: httpx.Client, company_url: str) -> None:
    answer = _get(api, company_url, SAMPLES["incremental"]["request"])
    assert answer.status_code == 200, answer.text
    values = answer.json()["value"]
    assert values
    assert all(c["lastModifiedDateTime"] > "2019-08-18T20:05:51.603Z" for c in values)
    later = _get(api, company_url, "customers?$filter=lastModifiedDateTime gt 2099-01-01T00:00:00Z")
    assert later.status_code == 200 and later.json()["value"] == []


def test_nested_expand(api: httpx.Client, company_url: str) -> None:
    answer = _get(api, company_url, SAMPLES["nested_expand"]["request"])
    assert answer.status_code == 200, answer.text
    orders: list[dict[str, Any]] = answer.json()["value"]
    assert orders
    for order in orders:
        assert order["orderDate"] >= "2019-05-01"
        assert "paymentTerm" in order
        assert isinstance(order["salesOrderLines"], list)
        for line in order["salesOrderLines"]:
            assert "account" in line and "item" in line
            if line["item"] is not None:
                assert "itemCategory" in line["item"]


def test_invoice_with_lines_and_customer(api: httpx.Client, company_url: str) -> None:
    first = api.get(f"{company_url}/salesInvoices", params={"$top": "1"}).json()["value"][0]
    relative = SAMPLES["invoice_expand"]["request"].replace("{id}", first["id"])
    answer = _get(api, company_url, relative)
    assert answer.status_code == 200, answer.text
    invoice = answer.json()
    assert invoice["customer"]["id"] == invoice["customerId"]
    assert invoice["salesInvoiceLines"] and all(
        line["documentId"] == invoice["id"] for line in invoice["salesInvoiceLines"]
    )


def test_or_across_fields_is_refused(api: httpx.Client, company_url: str) -> None:
    answer = _get(api, company_url, "customers?$filter=city eq 'Atlanta' or country eq 'US'")
    assert 400 <= answer.status_code < 500  # the page gives the text, not the status
    assert SAMPLES["or_across_fields"]["message"] in answer.json()["error"]["message"]
    same_field = _get(api, company_url, "customers?$filter=city eq 'Atlanta' or city eq 'Seattle'")
    assert same_field.status_code == 200, same_field.text


def test_lambda_operators_are_ignored(api: httpx.Client, company_url: str) -> None:
    everything = _get(api, company_url, "items?$top=5").json()["value"]
    lambda_filter = _get(api, company_url, "items?$top=5&$filter=itemVariants/any(v: v/code eq 'NO-SUCH-CODE')")
    assert lambda_filter.status_code == 200, lambda_filter.text
    assert [i["id"] for i in lambda_filter.json()["value"]] == [i["id"] for i in everything]
