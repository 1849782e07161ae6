"""The generated demo data: every entity set, BC's JSON types, consistent references,
determinism, scale, and a 1,000,000-item company served lazily."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import client, company_url, make_emulator
from ._catalogue import BLANK_DATE, BLANK_GUID, catalogue, field_names

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
LINE_SETS = {"salesOrderLines": "salesOrders", "salesInvoiceLines": "salesInvoices",
             "salesShipmentLines": "salesShipments", "purchaseInvoiceLines": "purchaseInvoices"}


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return make_emulator()


@pytest.fixture(scope="module")
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with client(emulator) as http:
        yield http


def get_all(http: httpx.Client, url: str, **params: str) -> list[dict]:
    answer = http.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def read_set(emulator: Emulator, http: httpx.Client, name: str) -> list[dict]:
    url = f"{company_url(emulator)}/{name}"
    if name in LINE_SETS:
        document = get_all(http, f"{company_url(emulator)}/{LINE_SETS[name]}", **{"$top": "1"})[0]
        return get_all(http, url, **{"$filter": f"documentId eq {document['id']}"})
    return get_all(http, url)


def check_type(type_: str, enum: tuple[str, ...], value: object) -> None:
    patterns = {"GUID": GUID, "date": DATE, "datetime": DATETIME}
    if type_ in patterns:
        assert isinstance(value, str)
        assert patterns[type_].match(value), value
    elif type_ in ("decimal", "integer", "int64"):
        assert isinstance(value, int | float)
        assert not isinstance(value, bool)
    elif type_ == "boolean":
        assert isinstance(value, bool)
    elif enum:
        assert value in enum, value
    else:
        assert isinstance(value, str)


@pytest.mark.parametrize("name", [n for n in catalogue() if n != "companies"])
def test_every_entity_set_has_records_in_json_order_with_bc_types(
        emulator: Emulator, http: httpx.Client, name: str) -> None:
    records = read_set(emulator, http, name)
    assert records, name
    for record in records:
        assert list(record) == ["@odata.etag", *field_names(name)]
        for field in catalogue()[name]:
            check_type(field.type, field.enum, record[field.name])


def test_blank_values_are_bc_blanks(emulator: Emulator, http: httpx.Client) -> None:
    customers = get_all(http, f"{company_url(emulator)}/customers")
    assert any(c["currencyId"] == BLANK_GUID and c["currencyCode"] == "" for c in customers)
    assert any(c["blocked"] == " " for c in customers)
    orders = get_all(http, f"{company_url(emulator)}/salesOrders")
    assert any(o["requestedDeliveryDate"] == BLANK_DATE for o in orders)


def test_references_are_consistent(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    items = {i["id"]: i for i in get_all(http, f"{base}/items")}
    customers = {c["id"]: c for c in get_all(http, f"{base}/customers")}
    orders = get_all(http, f"{base}/salesOrders", **{"$expand": "salesOrderLines"})
    for order in orders:
        customer = customers[order["customerId"]]
        assert order["customerNumber"] == customer["number"]
        assert order["customerName"] == customer["displayName"]
        lines = order["salesOrderLines"]
        assert 1 <= len(lines) <= 5
        assert [line["sequence"] for line in lines] == [10000 * (k + 1) for k in range(len(lines))]
        for line in lines:
            assert line["documentId"] == order["id"]
            assert items[line["itemId"]]["number"] == line["lineObjectNumber"]
            assert line["discountAmount"] == pytest.approx(
                line["quantity"] * line["unitPrice"] * line["discountPercent"] / 100, abs=0.006)
            assert line["amountExcludingTax"] == round(
                line["quantity"] * line["unitPrice"] - line["discountAmount"], 2)
        assert order["totalAmountExcludingTax"] == round(
            sum(line["amountExcludingTax"] for line in lines), 2)
        assert order["totalAmountIncludingTax"] == round(
            sum(line["amountIncludingTax"] for line in lines), 2)
    shipments = get_all(http, f"{base}/salesShipments", **{"$expand": "salesShipmentLines"})
    by_number = {o["number"]: o for o in orders}
    for shipment in shipments[:10]:
        order = by_number[shipment["orderNumber"]]
        assert shipment["customerId"] == order["customerId"]
        assert shipment["customerName"] == order["customerName"]
        assert shipment["sellToCity"] == order["sellToCity"]
        assert shipment["postingDate"] == order["postingDate"]
        assert [(s["lineObjectNumber"], s["quantity"]) for s in shipment["salesShipmentLines"]] \
            == [(o["lineObjectNumber"], o["quantity"]) for o in order["salesOrderLines"]]
        assert all(s["documentNo"] == shipment["number"] for s in shipment["salesShipmentLines"])
    variants = get_all(http, f"{base}/items", **{"$expand": "itemVariants"})
    with_variants = [i for i in variants if i["itemVariants"]]
    assert with_variants
    for item in with_variants:
        assert {v["itemNumber"] for v in item["itemVariants"]} == {item["number"]}


def test_ledger_entries_post_the_invoices(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    invoice = get_all(http, f"{base}/salesInvoices", **{"$top": "1"})[0]
    entries = get_all(http, f"{base}/generalLedgerEntries",
                      **{"$filter": f"documentNumber eq '{invoice['number']}'"})
    assert len(entries) == 3
    assert sum(e["debitAmount"] for e in entries) == pytest.approx(
        sum(e["creditAmount"] for e in entries))
    assert sum(e["debitAmount"] for e in entries) == invoice["totalAmountIncludingTax"]


def test_data_is_deterministic_per_seed() -> None:
    first, second, other = make_emulator(), make_emulator(), make_emulator(seed=2)
    pages = []
    for emulator in (first, second, other):
        with client(emulator) as http:
            pages.append(get_all(http, f"{company_url(emulator)}/items", **{"$top": "20"}))
    assert pages[0] == pages[1]
    assert pages[0] != pages[2]
    first.bc.reset(seed=2)
    with client(first) as http:
        assert get_all(http, f"{company_url(first)}/items", **{"$top": "20"}) == pages[2]


def test_timestamps_spread_over_past_months(emulator: Emulator, http: httpx.Client) -> None:
    stamps = sorted(i["lastModifiedDateTime"] for i in get_all(
        http, f"{company_url(emulator)}/items"))
    now = emulator.clock.now().isoformat()
    assert stamps[-1] < now
    assert stamps[0][:7] != stamps[-1][:7]


def test_scale_multiplies_the_volume_and_companies_differ() -> None:
    emulator = make_emulator(scale=0.2)
    with client(emulator) as http:
        assert http.get(f"{company_url(emulator)}/items/$count").text == "100"
        assert http.get(f"{company_url(emulator)}/customers/$count").text == "20"
        assert http.get(f"{company_url(emulator, 2)}/items/$count").text == "0"
        assert http.get(f"{company_url(emulator, 2)}/currencies/$count").text == "5"
        first = get_all(http, f"{company_url(emulator)}/items", **{"$top": "1"})[0]
        second = get_all(http, f"{company_url(emulator, 1)}/items", **{"$top": "1"})[0]
        assert first["id"] != second["id"]


def test_a_million_items_are_served_page_by_page() -> None:
    emulator = make_emulator(scale=2000)
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        assert http.get(f"{url}/$count").text == "1000000"
        first = http.get(url, headers={"Prefer": "odata.maxpagesize=1000"}).json()
        assert len(first["value"]) == 1000
        second = http.get(first["@odata.nextLink"]).json()
        assert second["value"][0]["number"] == "1001000"
        last = first["value"][-1]
        assert http.get(f"{url}({last['id']})").json()["number"] == last["number"]
        deepest = emulator.bc.store.company(company_url(emulator)[-37:-1]).sets["items"].key(
            999_999)
        assert http.get(f"{url}({deepest})").json()["number"] == "1999999"


def test_timestamp_filters_use_an_index_over_large_sets() -> None:
    emulator = make_emulator(scale=100)
    cid = company_url(emulator)[-37:-1]
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        since = emulator.bc.store.company(cid).anchor - 3_600_000
        stamp = f"{datetime.fromtimestamp(since / 1000, UTC):%Y-%m-%dT%H:%M:%S}Z"
        changed_item = http.get(url, params={"$skip": "40000", "$top": "1"}).json()["value"][0]
        emulator.clock.advance(1)
        emulator.bc.change(cid, "items", changed_item["id"], {"displayName": "Changed now"})
        answer = http.get(url, params={"$filter": f"lastModifiedDateTime gt {stamp}",
                                       "$count": "true"}).json()
        # An "or" on the same field is not an index range: the same answer by a full scan.
        scanned = http.get(url, params={"$filter": f"lastModifiedDateTime gt {stamp} or "
                                        f"lastModifiedDateTime gt {stamp}"}).json()["value"]
        assert answer["@odata.count"] == len(answer["value"])
        assert all(i["lastModifiedDateTime"] > stamp for i in answer["value"])
        assert changed_item["id"] in [i["id"] for i in answer["value"]]
        assert answer["value"] == scanned
        numbers = [i["number"] for i in answer["value"]]
        assert numbers == sorted(numbers)
        window = http.get(url, params={"$filter": f"lastModifiedDateTime gt {stamp} and "
                                       f"lastModifiedDateTime le {stamp}"}).json()["value"]
        assert window == []
