"""Entity shapes against Microsoft's documented GET samples (docs/bc §2.7, §3, §7).

Each test reads one record the documented way and compares it with the sample in
``samples/``: members, their order, JSON types and string kinds (see ``_samples``), and the
OData envelope around it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._samples import assert_documented_shape, load


def test_companies_collection_envelope(api: httpx.Client, prefix: str) -> None:
    sample = load("companies_list")
    answer = api.get(f"{prefix}/companies")
    assert answer.status_code == sample["response"]["status"]
    body = answer.json()
    documented = sample["response"]["body"]
    assert list(body)[:2] == list(documented) == ["@odata.context", "value"]
    # "<endpoint>/$metadata#companies": the endpoint is the API route root the request used.
    assert body["@odata.context"] == f"{api.base_url}".rstrip("/") + f"{prefix}/$metadata#companies"
    assert body["value"], "an environment has at least one company"
    for company in body["value"]:
        assert_documented_shape(company, documented["value"][0], "companies[]")


def test_company_get_sample(api: httpx.Client, prefix: str) -> None:
    sample = load("company_get")
    answer = api.get(f"{prefix}/companies")
    assert answer.status_code == sample["response"]["status"]
    for company in answer.json()["value"]:
        assert_documented_shape(company, sample["response"]["body"], "company")
        assert "lastModifiedDateTime" not in company  # companies expose system* only (docs/bc §7.2)


@pytest.mark.parametrize(
    ("entity_set", "name"),
    [
        ("items", "item_get"),
        ("customers", "customer_get"),
        ("vendors", "vendor_get"),
        ("salesOrders", "salesorder_get"),
        ("salesInvoices", "salesinvoice_get"),
    ],
)
def test_entity_get_sample(
    api: httpx.Client, company: dict[str, Any], company_url: str, entity_set: str, name: str
) -> None:
    sample = load(name)
    listed = api.get(f"{company_url}/{entity_set}", params={"$top": "1"})
    assert listed.status_code == 200, listed.text
    key = listed.json()["value"][0]["id"]
    answer = api.get(f"{company_url}/{entity_set}({key})")
    assert answer.status_code == sample["response"]["status"], answer.text
    assert_documented_shape(answer.json(), sample["response"]["body"], entity_set)


def test_sales_order_line_get_sample(api: httpx.Client, company_url: str) -> None:
    """The line, read through its order and from the company, answers the documented shape."""
    sample = load("salesorderline_get")
    orders = api.get(f"{company_url}/salesOrders", params={"$top": "1", "$expand": "salesOrderLines"})
    assert orders.status_code == 200, orders.text
    order = orders.json()["value"][0]
    line_id = order["salesOrderLines"][0]["id"]
    for url in (
        f"{company_url}/salesOrders({order['id']})/salesOrderLines({line_id})",
        f"{company_url}/salesOrderLines({line_id})",
    ):
        answer = api.get(url)
        assert answer.status_code == sample["response"]["status"], answer.text
        line = answer.json()
        assert_documented_shape(line, sample["response"]["body"], "salesOrderLine")
        assert line["documentId"] == order["id"]
        assert isinstance(line["sequence"], int)


def test_custom_api_page_envelopes_hold_for_api_v2(
    api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str
) -> None:
    """Collection and single-entity envelopes as 'Developing a custom API' shows them."""
    sample = load("custom_api_envelopes")
    documented = sample["collection"]["response"]["body"]
    base = f"{api.base_url}".rstrip("/") + prefix
    listed = api.get(f"{company_url}/items", params={"$top": "2"})
    body = listed.json()
    assert list(body)[:2] == list(documented)
    assert body["@odata.context"] == f"{base}/$metadata#companies({company['id']})/items"
    for entity in body["value"]:
        assert next(iter(entity)) == "@odata.etag"  # the annotation comes first, as in the sample
        assert entity["@odata.etag"].startswith('W/"') and entity["@odata.etag"].endswith('"')
    single = api.get(f"{company_url}/items({body['value'][0]['id']})").json()
    assert sample["entity"]["response"]["context"].endswith("/carBrands/$entity")
    assert single["@odata.context"] == f"{base}/$metadata#companies({company['id']})/items/$entity"
    assert single["@odata.etag"] == body["value"][0]["@odata.etag"]  # same record, same ETag (docs/bc §4)


def test_customer_create_sample(api: httpx.Client, company_url: str) -> None:
    sample = load("customer_create")
    request = sample["request"]
    body = {name: request["body"][name] for name in sample["client_writes"]}
    answer = api.post(f"{company_url}/customers", json=body, headers=request["headers"])
    assert answer.status_code == sample["response"]["status"], answer.text
    created = answer.json()
    assert_documented_shape(created, sample["response"]["body"], "customer")
    for name in sample["client_writes"]:
        assert created[name] == body[name], name
    again = api.get(f"{company_url}/customers({created['id']})").json()
    assert again["@odata.etag"] == created["@odata.etag"]  # POST answers the entity as stored (docs/bc §10)


def test_sales_order_create_sample(api: httpx.Client, company_url: str) -> None:
    """The sample's customer, currency and payment terms are replaced by one of the emulator's
    customers (its own currency and terms apply)."""
    sample = load("salesorder_create")
    customer = api.get(f"{company_url}/customers", params={"$top": "1"}).json()["value"][0]
    body = {"orderDate": sample["request"]["body"]["orderDate"], "customerNumber": customer["number"]}
    answer = api.post(f"{company_url}/salesOrders", json=body, headers=sample["request"]["headers"])
    assert answer.status_code == sample["response"]["status"], answer.text
    documented = {k: v for k, v in sample["response"]["body"].items() if k not in sample["not_in_api"]}
    order = answer.json()
    assert_documented_shape(order, documented, "salesOrder")
    for name in (
        "status",
        "requestedDeliveryDate",
        "totalAmountExcludingTax",
        "totalTaxAmount",
        "totalAmountIncludingTax",
        "fullyShipped",
    ):
        assert order[name] == documented[name], name
    assert order["orderDate"] == body["orderDate"]
    assert (order["customerNumber"], order["customerName"]) == (customer["number"], customer["displayName"])
    assert order["customerId"] == customer["id"]


def test_sales_shipment_and_line_samples(api: httpx.Client, company_url: str) -> None:
    header_sample = load("salesshipment_get")
    documented = {**header_sample["response"]["body"], **header_sample["corrections"]}
    listed = api.get(f"{company_url}/salesShipments", params={"$top": "1", "$expand": "salesShipmentLines"})
    assert listed.status_code == 200, listed.text
    shipment = listed.json()["value"][0]
    answer = api.get(f"{company_url}/salesShipments({shipment['id']})")
    assert answer.status_code == header_sample["response"]["status"], answer.text
    assert_documented_shape(answer.json(), documented, "salesShipment")

    line_sample = load("salesshipmentline_get")
    line_id = shipment["salesShipmentLines"][0]["id"]
    line = api.get(f"{company_url}/salesShipments({shipment['id']})/salesShipmentLines({line_id})")
    assert line.status_code == line_sample["response"]["status"], line.text
    body = line.json()
    assert_documented_shape(body, line_sample["response"]["body"], "salesShipmentLine")
    assert body["documentId"] == shipment["id"] and body["documentNo"] == shipment["number"]
    assert body["lineType"] in line_sample["line_types"]


def test_item_variant_sample(api: httpx.Client, company_url: str) -> None:
    sample = load("itemvariant_get")
    listed = api.get(f"{company_url}/itemVariants", params={"$top": "1"})
    assert listed.status_code == 200, listed.text
    variant = listed.json()["value"][0]
    for url in (
        f"{company_url}/itemVariants({variant['id']})",
        f"{company_url}/items({variant['itemId']})/itemVariants({variant['id']})",
    ):
        answer = api.get(url)
        assert answer.status_code == sample["response"]["status"], answer.text
        assert_documented_shape(answer.json(), sample["response"]["body"], "itemVariant")
