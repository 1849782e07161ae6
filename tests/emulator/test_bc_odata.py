"""OData query options and server-driven paging of the API v2.0 endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bcbridge.emulator import Emulator
from bcbridge.emulator.bc import odata

from ._bc import BASE, client, company_url, make_emulator


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return make_emulator()


@pytest.fixture(scope="module")
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with client(emulator) as http:
        yield http


@pytest.fixture(scope="module")
def items(emulator: Emulator, http: httpx.Client) -> list[dict]:
    return http.get(f"{company_url(emulator)}/items").json()["value"]


def query(http: httpx.Client, emulator: Emulator, entity_set: str, **params: str) -> list[dict]:
    answer = http.get(f"{company_url(emulator)}/{entity_set}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def error(http: httpx.Client, emulator: Emulator, entity_set: str, **params: str
          ) -> tuple[int, str, str]:
    answer = http.get(f"{company_url(emulator)}/{entity_set}", params=params)
    body = answer.json()["error"]
    return answer.status_code, body["code"], body["message"]


@pytest.mark.parametrize(("expression", "predicate"), [
    ("unitPrice gt 500", lambda i: i["unitPrice"] > 500),
    ("unitPrice ge 100 and unitPrice lt 200", lambda i: 100 <= i["unitPrice"] < 200),
    ("type eq 'Service' or type eq 'Non-Inventory'", lambda i: i["type"] != "Inventory"),
    ("not (type eq 'Inventory')", lambda i: i["type"] != "Inventory"),
    ("blocked eq true", lambda i: i["blocked"]),
    ("type ne 'Inventory' and (unitPrice lt 300 or unitPrice gt 1000)",
     lambda i: i["type"] != "Inventory" and (i["unitPrice"] < 300 or i["unitPrice"] > 1000)),
    ("contains(displayName,'Chair')", lambda i: "Chair" in i["displayName"]),
    ("contains(tolower(displayName),'chair')", lambda i: "chair" in i["displayName"].lower()),
    ("startswith(displayName,'PARIS')", lambda i: i["displayName"].startswith("PARIS")),
    ("endswith(toupper(displayName),'BLACK')", lambda i: i["displayName"].endswith("black")),
    ("number in ('1000003','1000007')", lambda i: i["number"] in ("1000003", "1000007")),
    ("itemCategoryCode eq 'CHAIR' and inventory gt 100",
     lambda i: i["itemCategoryCode"] == "CHAIR" and i["inventory"] > 100),
])
def test_filter_matches_python(emulator: Emulator, http: httpx.Client, items: list[dict],
                               expression: str, predicate) -> None:  # type: ignore[no-untyped-def]
    expected = [i["id"] for i in items if predicate(i)]
    assert expected, expression
    answer = query(http, emulator, "items", **{"$filter": expression, "$schemaversion": "2.1"})
    assert [i["id"] for i in answer] == expected


@pytest.mark.parametrize("expression", ["number in ('1000003','1000007')",
                                        "contains(tolower(displayName),'chair')"])
def test_in_and_nested_functions_need_schemaversion_2_1(emulator: Emulator, http: httpx.Client,
                                                        expression: str) -> None:
    status, code, message = error(http, emulator, "items", **{"$filter": expression})
    assert (status, code) == (400, "BadRequest_NotSupported")
    assert "$schemaversion=2.1" in message


def test_string_comparisons_are_case_sensitive(emulator: Emulator, http: httpx.Client) -> None:
    assert query(http, emulator, "items", **{"$filter": "contains(displayName,'chair')"}) == []
    assert query(http, emulator, "items", **{"$filter": "contains(displayName,'Chair')"})


def test_filter_with_guid_date_and_datetime_literals(emulator: Emulator, http: httpx.Client,
                                                     items: list[dict]) -> None:
    item = items[7]
    by_guid = query(http, emulator, "items", **{"$filter": f"id eq {item['id']}"})
    assert [i["id"] for i in by_guid] == [item["id"]]
    category = query(http, emulator, "items",
                     **{"$filter": f"itemCategoryId eq {item['itemCategoryId'].upper()}"})
    assert all(i["itemCategoryCode"] == item["itemCategoryCode"] for i in category)
    stamp = sorted(i["lastModifiedDateTime"] for i in items)[len(items) // 2]
    newer = query(http, emulator, "items", **{"$filter": f"lastModifiedDateTime gt {stamp}"})
    assert len(newer) == len(items) - len(items) // 2 - 1
    orders = query(http, emulator, "salesOrders")
    day = sorted(o["orderDate"] for o in orders)[len(orders) // 2]
    since = query(http, emulator, "salesOrders", **{"$filter": f"orderDate ge {day}"})
    assert [o["id"] for o in since] == [o["id"] for o in orders if o["orderDate"] >= day]


def test_or_across_distinct_fields_is_rejected(emulator: Emulator, http: httpx.Client) -> None:
    status, _code, message = error(http, emulator, "items",
                                  **{"$filter": "number eq '1000001' or type eq 'Service'"})
    assert status == 400
    assert message.startswith(
        "The 'OR' operator is not supported on distinct fields on an OData filter.")
    relaxed = make_emulator(reject_or_across_fields=False)
    with client(relaxed) as other:
        answer = other.get(f"{company_url(relaxed)}/items",
                           params={"$filter": "number eq '1000001' or type eq 'Service'"})
        assert answer.status_code == 200


def test_bad_filters(emulator: Emulator, http: httpx.Client) -> None:
    status, code, _ = error(http, emulator, "items", **{"$filter": "number eq"})
    assert (status, code) == (400, "BadRequest_NotFound")
    status, code, message = error(http, emulator, "items", **{"$filter": "colour eq 'red'"})
    assert status == 400
    assert message.startswith("Could not find a property named 'colour' on type "
                              "'Microsoft.NAV.item'.")


def test_select_reduces_fields_and_names_them_in_the_context(
        emulator: Emulator, http: httpx.Client) -> None:
    answer = http.get(f"{company_url(emulator)}/items", params={"$select": "number,id"})
    body = answer.json()
    assert body["@odata.context"].endswith("/items(number,id)")
    assert list(body["value"][0]) == ["@odata.etag", "id", "number"]
    status, _, _ = error(http, emulator, "items", **{"$select": "number,nope"})
    assert status == 400


def test_expand_with_nested_select_and_filter(emulator: Emulator, http: httpx.Client) -> None:
    orders = query(http, emulator, "salesOrders", **{
        "$select": "number",
        "$expand": "salesOrderLines($select=sequence,quantity;$filter=quantity gt 3)"})
    assert any(o["salesOrderLines"] for o in orders)
    for order in orders:
        assert set(order) == {"@odata.etag", "number", "salesOrderLines"}
        for line in order["salesOrderLines"]:
            assert set(line) == {"@odata.etag", "sequence", "quantity"}
            assert line["quantity"] > 3
    lines = query(http, emulator, "salesOrders", **{"$top": "1", "$expand": "salesOrderLines("
                                                    "$expand=location)"})[0]["salesOrderLines"]
    assert lines[0]["location"]["code"] == "MAIN"
    status, _, _ = error(http, emulator, "salesOrders", **{"$expand": "nothing"})
    assert status == 400


def test_expand_lookups_and_unserved_navigations(emulator: Emulator, http: httpx.Client) -> None:
    order = query(http, emulator, "salesOrders", **{
        "$top": "1", "$expand": "customer($select=number),paymentTerm,dimensionSetLines,"
        "pdfDocument,salesOrderLines($top=1;$expand=item($select=number,unitPrice))"})[0]
    assert order["customer"]["number"] == order["customerNumber"]
    assert set(order["customer"]) == {"@odata.etag", "number"}
    assert order["paymentTerm"]["id"] == order["paymentTermsId"]
    assert order["dimensionSetLines"] == []
    assert order["pdfDocument"] is None
    assert len(order["salesOrderLines"]) == 1
    line = order["salesOrderLines"][0]
    assert line["item"]["number"] == line["lineObjectNumber"]
    item = query(http, emulator, "items", **{"$top": "1", "$expand": "baseUnitOfMeasure,picture"})
    assert item[0]["baseUnitOfMeasure"]["code"] == item[0]["baseUnitOfMeasureCode"]
    # api/dynamics_picture_get: the picture's id is its parent's, parentType "Item"
    assert (item[0]["picture"]["id"], item[0]["picture"]["parentType"]) == (item[0]["id"], "Item")
    customers = query(http, emulator, "customers", **{"$expand": "currency"})
    assert any(c["currency"] is None for c in customers)
    assert any(c["currency"] and c["currency"]["code"] == "EUR" for c in customers)


def test_orderby_top_skip_and_count(emulator: Emulator, http: httpx.Client,
                                    items: list[dict]) -> None:
    by_price = sorted(items, key=lambda i: (-i["unitPrice"], items.index(i)))
    answer = http.get(f"{company_url(emulator)}/items", params={
        "$orderby": "unitPrice desc", "$top": "5", "$skip": "2", "$count": "true"})
    body = answer.json()
    assert body["@odata.count"] == len(items)
    assert [i["id"] for i in body["value"]] == [i["id"] for i in by_price[2:7]]
    assert "@odata.nextLink" not in body
    names = query(http, emulator, "customers", **{"$orderby": "city,displayName"})
    keys = [(c["city"], c["displayName"]) for c in names]
    assert keys == sorted(keys)
    counted = http.get(f"{company_url(emulator)}/items",
                       params={"$count": "true", "$filter": "type eq 'Service'", "$top": "1"})
    assert counted.json()["@odata.count"] == sum(i["type"] == "Service" for i in items)


def follow(http: httpx.Client, url: str, headers: dict[str, str], params: dict | None = None
           ) -> tuple[list[dict], list[httpx.Response]]:
    answers = [http.get(url, params=params, headers=headers)]
    records = list(answers[0].json()["value"])
    while "@odata.nextLink" in answers[-1].json():
        answers.append(http.get(answers[-1].json()["@odata.nextLink"], headers=headers))
        assert answers[-1].status_code == 200
        records += answers[-1].json()["value"]
    return records, answers


def test_server_driven_paging_with_maxpagesize(emulator: Emulator, http: httpx.Client,
                                               items: list[dict]) -> None:
    url = f"{company_url(emulator)}/items"
    records, answers = follow(http, url, {"Prefer": "odata.maxpagesize=120"})
    assert [r["id"] for r in records] == [i["id"] for i in items]
    assert [len(a.json()["value"]) for a in answers] == [120, 120, 120, 120, 20]
    assert answers[0].headers["Preference-Applied"] == "odata.maxpagesize=120"
    link = answers[0].json()["@odata.nextLink"]
    assert link.startswith(f"{BASE}{url}?")
    assert "$skiptoken" in parse_qs(urlsplit(link).query)
    ordered, _ = follow(http, url, {"Prefer": "odata.maxpagesize=77"},
                        {"$orderby": "displayName desc", "$filter": "unitPrice gt 100"})
    expected = sorted((i for i in items if i["unitPrice"] > 100),
                      key=lambda i: i["displayName"], reverse=True)
    assert [r["displayName"] for r in ordered] == [i["displayName"] for i in expected]
    topped, pages = follow(http, url, {"Prefer": "odata.maxpagesize=30"}, {"$top": "70"})
    assert [r["id"] for r in topped] == [i["id"] for i in items[:70]]
    assert len(pages) == 3


def test_pages_stay_consistent_while_records_change() -> None:
    emulator = make_emulator(scale=0.2)
    cid = company_url(emulator)[-37:-1]
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        headers = {"Prefer": "odata.maxpagesize=40"}
        first = http.get(url, headers=headers).json()
        ids = [i["id"] for i in first["value"]]
        # Delete an already served item and an unserved one, change one, add one.
        emulator.bc.delete(cid, "items", ids[0])
        rest_before = [i["id"] for i in http.get(url, headers={"Prefer": "odata.maxpagesize=200"})
                       .json()["value"]][39:]
        emulator.bc.delete(cid, "items", rest_before[0])
        emulator.bc.change(cid, "items", rest_before[1], {"displayName": "Changed"})
        created = emulator.bc.create(cid, "items", {"displayName": "New item"})
        second = http.get(first["@odata.nextLink"], headers=headers).json()
        third = http.get(second["@odata.nextLink"], headers=headers).json()
        served = ids + [i["id"] for i in second["value"] + third["value"]]
        assert len(served) == len(set(served))
        assert rest_before[0] not in served
        assert rest_before[1] in served
        assert created["id"] in served
        assert "@odata.nextLink" not in third


def test_mangled_skiptoken(emulator: Emulator, http: httpx.Client) -> None:
    url = f"{company_url(emulator)}/items"
    link = http.get(url, headers={"Prefer": "odata.maxpagesize=10"}).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    assert http.get(url, params={"$skiptoken": "garbage!"}).status_code == 400
    other_order = http.get(url, params={"$skiptoken": token, "$orderby": "number"})
    assert other_order.status_code == 400


def test_top_above_the_page_limit(emulator: Emulator, http: httpx.Client) -> None:
    status, _code, _ = error(http, emulator, "items", **{"$top": "20001"})
    assert status == 413
    lenient = make_emulator(top_above_limit_status=0, max_page_size=200)
    with client(lenient) as other:
        body = other.get(f"{company_url(lenient)}/items", params={"$top": "300"}).json()
        assert len(body["value"]) == 200
        assert "@odata.nextLink" in body
        rest = other.get(body["@odata.nextLink"]).json()
        assert len(rest["value"]) == 100
        assert "@odata.nextLink" not in rest


def test_query_records_for_other_surfaces() -> None:
    records = [{"code": f"C{i:02d}", "amount": i * 1.5} for i in range(50)]
    types = {"code": "string", "amount": "decimal"}
    page = odata.query_records(records, {"$filter": "amount ge 30", "$orderby": "amount desc",
                                         "$count": "true"}, types, page_size=10)
    assert page.count == 30
    assert [r["code"] for _, r in page.rows] == [f"C{i:02d}" for i in range(49, 39, -1)]
    assert page.next_token is not None
    rest = odata.query_records(records, {"$filter": "amount ge 30", "$orderby": "amount desc",
                                         "$skiptoken": page.next_token}, types, page_size=100)
    assert next(r["code"] for _, r in rest.rows) == "C39"
    assert len(rest.rows) == 20
    assert rest.next_token is None
