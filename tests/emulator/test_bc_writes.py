"""POST, PATCH and DELETE of API v2.0 entities: ETags, number series, deep insert, totals,
BC's validation errors, line rules, the Python API and change listeners."""

from __future__ import annotations

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import BASE, client, company_id, company_url, make_emulator, root


@pytest.fixture
def emulator() -> Emulator:
    return make_emulator(scale=0.2)


def first(http: httpx.Client, url: str, **params: str) -> dict:
    return http.get(url, params={"$top": "1", **params}).json()["value"][0]


def error_of(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()["error"]
    return answer.status_code, body["code"], body["message"].split("  CorrelationId:")[0]


def test_post_creates_with_number_series_and_location(emulator: Emulator,
                                                      http: httpx.Client) -> None:
    emulator.clock.advance(60)
    answer = http.post(f"{company_url(emulator)}/customers",
                       json={"displayName": "Bike Shop", "currencyCode": "EUR"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["@odata.context"].endswith(
        f"$metadata#companies({company_id(emulator)})/customers/$entity")
    assert body["number"] == "C000021"
    assert body["currencyId"] == first(http, f"{company_url(emulator)}/currencies",
                                       **{"$filter": "code eq 'EUR'"})["id"]
    assert body["type"] == "Company"
    assert body["blocked"] == " "
    assert answer.headers["ETag"] == body["@odata.etag"]
    assert answer.headers["Location"] == (
        f"{BASE}{root(emulator)}/companies({company_id(emulator)})/customers({body['id']})")
    assert body["lastModifiedDateTime"] >= emulator.clock.now().isoformat()[:19]
    again = http.get(answer.headers["Location"]).json()
    assert again["@odata.etag"] == body["@odata.etag"]
    second = http.post(f"{company_url(emulator)}/customers", json={"displayName": "Two"})
    assert second.json()["number"] == "C000022"


def test_deep_insert_of_a_sales_order_with_lines(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    customer = first(http, f"{base}/customers")
    items = http.get(f"{base}/items", params={"$top": "2"}).json()["value"]
    existing = int(http.get(f"{base}/salesOrders/$count").text)
    answer = http.post(f"{base}/salesOrders", json={
        "customerNumber": customer["number"], "externalDocumentNumber": "EXT-1",
        "salesOrderLines": [
            {"lineObjectNumber": items[0]["number"], "quantity": 3},
            {"itemId": items[1]["id"], "quantity": 2, "unitPrice": 10.5},
        ]})
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["number"] == f"S-ORD{101001 + existing}"  # next in the number series
    assert order["customerId"] == customer["id"]
    assert order["customerName"] == customer["displayName"]
    assert order["status"] == "Draft"
    lines = order["salesOrderLines"]
    assert [line["sequence"] for line in lines] == [10000, 20000]
    assert lines[0]["itemId"] == items[0]["id"]
    assert lines[0]["lineType"] == "Item"
    assert lines[0]["unitPrice"] == items[0]["unitPrice"]
    assert lines[1]["lineObjectNumber"] == items[1]["number"]
    assert lines[1]["amountExcludingTax"] == 21
    total = round(sum(line["amountExcludingTax"] for line in lines), 2)
    assert order["totalAmountExcludingTax"] == total
    stored = http.get(f"{base}/salesOrders({order['id']})",
                      params={"$expand": "salesOrderLines"}).json()
    assert stored["totalAmountIncludingTax"] == round(
        sum(line["amountIncludingTax"] for line in stored["salesOrderLines"]), 2)
    assert stored["@odata.etag"] == order["@odata.etag"]


def test_sales_order_needs_a_customer_and_lines_are_all_or_nothing(
        emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    count = http.get(f"{base}/salesOrders/$count").text
    missing = http.post(f"{base}/salesOrders", json={"externalDocumentNumber": "X"})
    assert error_of(missing) == (400, "Application_DialogException",
                                 "A customerNumber or a customerID must be provided.")
    customer = first(http, f"{base}/customers")
    bad_line = http.post(f"{base}/salesOrders", json={
        "customerId": customer["id"], "salesOrderLines": [{"lineType": "Bogus"}]})
    assert bad_line.status_code == 400
    assert http.get(f"{base}/salesOrders/$count").text == count


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    ({"type": "Invalid Type"}, 400, "Unknown",
     "'Invalid Type' is not an option. The existing options are: Inventory,Service,Non-Inventory"),
    ({"itemCategoryId": "not-a-guid"}, 400, "Application_InvalidGUID", "Invalid format of GUID"),
    ({"displayName": "x" * 101}, 400, "Application_StringExceededLength",
     "The length of the string is 101, but it must be less than or equal to 100 characters."),
    ({"inventory": 5}, 400, "BadRequest_InvalidOperation", "Control 'inventory' is read-only."),
    ({"unitPrice": "12"}, 400, "BadRequest", "Invalid Request Body"),
    ({"colour": "red"}, 400, "BadRequest", "Invalid Request Body. The property 'colour'"),
    ({"itemCategoryCode": "NOPE"}, 400, "Internal_RecordNotFound",
     "The itemCategory does not exist."),
])
def test_invalid_values_use_bc_codes(emulator: Emulator, http: httpx.Client, body: dict,
                                     status: int, code: str, message: str) -> None:
    answer = http.post(f"{company_url(emulator)}/items", json={"displayName": "x", **body})
    got = error_of(answer)
    assert got[:2] == (status, code)
    assert got[2].startswith(message)


def test_variant_by_item_number_and_contained_post(emulator: Emulator,
                                                   http: httpx.Client) -> None:
    base = company_url(emulator)
    item = first(http, f"{base}/items")
    by_number = http.post(f"{base}/itemVariants", json={"itemNumber": item["number"],
                                                        "code": "NEW", "description": "New"})
    assert by_number.status_code == 201, by_number.text
    assert by_number.json()["itemId"] == item["id"]
    contained = http.post(f"{base}/items({item['id']})/itemVariants", json={"code": "NEW2"})
    assert contained.status_code == 201
    assert contained.json()["itemNumber"] == item["number"]
    codes = [v["code"] for v in http.get(f"{base}/items({item['id']})/itemVariants").json()
             ["value"]]
    assert codes[-2:] == ["NEW", "NEW2"]


def test_read_only_data_access_intent_refuses_writes(emulator: Emulator,
                                                     http: httpx.Client) -> None:
    url = f"{company_url(emulator)}/customers"
    refused = http.post(url, json={"displayName": "x"},
                        headers={"Data-Access-Intent": "ReadOnly"})
    assert refused.status_code == 400
    read = http.get(url, params={"$top": "1"}, headers={"Data-Access-Intent": "ReadOnly"})
    assert read.status_code == 200


def test_unconvertible_date(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    customer = first(http, f"{base}/customers")
    answer = http.post(f"{base}/salesOrders",
                       json={"customerId": customer["id"], "orderDate": "21/11/2026"})
    assert error_of(answer)[:2] == (400, "BadRequest")


def test_patch_requires_a_current_etag(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    item = first(http, f"{base}/items")
    url = f"{base}/items({item['id']})"
    missing = http.patch(url, json={"displayName": "A"})
    assert error_of(missing) == (
        400, "BadRequest_InvalidToken", "Could not validate the client concurrency token "
        "required by the service. Please provide a valid token in the client request.")
    emulator.clock.advance(5)
    changed = http.patch(url, json={"displayName": "A"}, headers={"If-Match": item["@odata.etag"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["displayName"] == "A"
    assert body["number"] == item["number"]
    # a new weak entity tag (RFC 9110 §8.8.3 syntax, BC's W/"..." form, docs/bc/4-concurrency.md §4)
    assert body["@odata.etag"] != item["@odata.etag"]
    assert body["@odata.etag"].startswith('W/"') and body["@odata.etag"].endswith('"')
    assert changed.headers["ETag"] == body["@odata.etag"]
    assert body["lastModifiedDateTime"] > item["lastModifiedDateTime"]
    stale = http.patch(url, json={"displayName": "B"}, headers={"If-Match": item["@odata.etag"]})
    assert error_of(stale) == (409, "Request_EntityChanged",
                               "Another user has already changed the record.")
    star = http.patch(url, json={"displayName": "C"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    assert star.json()["displayName"] == "C"


def test_stale_etag_status_is_configurable() -> None:
    emulator = make_emulator(scale=0.2, etag_mismatch_status=412)
    with client(emulator) as http:
        item = first(http, f"{company_url(emulator)}/items")
        answer = http.patch(f"{company_url(emulator)}/items({item['id']})",
                            json={"displayName": "x"}, headers={"If-Match": 'W/"stale"'})
        assert answer.status_code == 412


def test_read_only_fields_can_be_ignored_instead() -> None:
    emulator = make_emulator(scale=0.2, reject_read_only_writes=False)
    with client(emulator) as http:
        item = first(http, f"{company_url(emulator)}/items")
        answer = http.patch(f"{company_url(emulator)}/items({item['id']})",
                            json={"inventory": 999, "gtin": "1"}, headers={"If-Match": "*"})
        assert answer.status_code == 200
        assert answer.json()["inventory"] == item["inventory"]
        assert answer.json()["gtin"] == "1"


def test_line_writes_change_the_document(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    order = first(http, f"{base}/salesOrders", **{"$expand": "salesOrderLines"})
    line = order["salesOrderLines"][0]
    emulator.clock.advance(5)
    url = f"{base}/salesOrderLines({line['id']})"
    answer = http.patch(url, json={"quantity": line["quantity"] + 10},
                        headers={"If-Match": line["@odata.etag"]})
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["amountExcludingTax"] > line["amountExcludingTax"]
    after = http.get(f"{base}/salesOrders({order['id']})",
                     params={"$expand": "salesOrderLines"}).json()
    assert after["@odata.etag"] != order["@odata.etag"]
    assert after["lastModifiedDateTime"] > order["lastModifiedDateTime"]
    assert after["totalAmountExcludingTax"] == round(
        sum(x["amountExcludingTax"] for x in after["salesOrderLines"]), 2)
    for field, value in (("documentId", first(http, f"{base}/salesOrders",
                                                **{"$skip": "1"})["id"]), ("sequence", 99999)):
        refused = http.patch(url, json={field: value}, headers={"If-Match": "*"})
        assert error_of(refused)[:2] == (400, "Application_DialogException")
    account = first(http, f"{base}/accounts")
    both = http.post(f"{base}/salesOrders({order['id']})/salesOrderLines",
                     json={"itemId": line["itemId"], "accountId": account["id"]})
    assert error_of(both)[2] == ('Both "itemId" and "accountId" are specified. '
                                 "Specify only one of them.")
    added = http.post(f"{base}/salesOrders({order['id']})/salesOrderLines",
                      json={"lineObjectNumber": line["lineObjectNumber"], "quantity": 1})
    assert added.status_code == 201
    assert added.json()["documentId"] == order["id"]
    assert added.json()["sequence"] == (len(order["salesOrderLines"]) + 1) * 10000


def test_delete_needs_if_match_and_removes_lines(emulator: Emulator, http: httpx.Client) -> None:
    base = company_url(emulator)
    order = first(http, f"{base}/salesOrders", **{"$expand": "salesOrderLines"})
    url = f"{base}/salesOrders({order['id']})"
    assert error_of(http.delete(url))[1] == "BadRequest_InvalidToken"
    answer = http.delete(url, headers={"If-Match": order["@odata.etag"]})
    assert answer.status_code == 204
    assert http.get(url).status_code == 404
    line = order["salesOrderLines"][0]
    assert http.get(f"{base}/salesOrderLines({line['id']})").status_code == 404
    assert http.delete(url, headers={"If-Match": "*"}).status_code == 404


def test_python_api_and_change_listeners(emulator: Emulator) -> None:
    events: list[tuple[str, str, str, str, bool]] = []
    emulator.bc.on_change(lambda cid, es, key, change, record:
                          events.append((cid, es, key, change, record is not None)))
    cid = company_id(emulator)
    created = emulator.bc.create(cid, "items", {"displayName": "Made in Python",
                                                "inventory": 7})
    assert created["inventory"] == 7  # a BC user may set what the API can't
    changed = emulator.bc.change(cid, "items", created["id"], {"inventory": 8})
    assert changed["@odata.etag"] != created["@odata.etag"]
    emulator.bc.delete(cid, "items", created["id"])
    assert events == [(cid, "items", created["id"], "created", True),
                      (cid, "items", created["id"], "updated", True),
                      (cid, "items", created["id"], "deleted", False)]
    events.clear()
    emulator.bc.reset()  # listeners survive a reset
    order = next(iter(emulator.bc.store.iter(cid, "salesOrders")))[1]
    line = next(iter(emulator.bc.store.iter(cid, "salesOrderLines", parent_key=order["id"])))[1]
    emulator.bc.change(cid, "salesOrderLines", line["id"], {"quantity": 1})
    assert [(e[1], e[3]) for e in events] == [("salesOrderLines", "updated"),
                                              ("salesOrders", "updated")]


def test_store_keeps_ids_given_on_insert(emulator: Emulator) -> None:
    cid = company_id(emulator)
    store = emulator.bc.store
    template = store.get(cid, "customers", next(iter(store.iter(cid, "customers")))[1]["id"])
    assert template is not None
    given = "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b"
    stored = store.insert(cid, "customers", {**template, "id": given.upper(), "number": "X1"})
    assert stored["id"] == given
    assert store.get(cid, "customers", given)["number"] == "X1"  # type: ignore[index]
    with pytest.raises(ValueError, match="already exists"):
        store.insert(cid, "customers", {**template, "id": given})
    with client(emulator) as http:
        url = f"{company_url(emulator)}/customers({given})"
        assert http.get(url).json()["number"] == "X1"
        assert http.delete(url, headers={"If-Match": "*"}).status_code == 204
        assert http.get(url).status_code == 404


def test_store_snapshot_and_restore(emulator: Emulator) -> None:
    cid = company_id(emulator)
    store = emulator.bc.store
    before = store.count(cid, "customers")
    snapshot = store.snapshot()
    emulator.bc.create(cid, "customers", {"displayName": "Temp"})
    assert store.count(cid, "customers") == before + 1
    store.restore(snapshot)
    assert store.count(cid, "customers") == before
    assert store.next_number(cid, "customers") == f"C{before + 1:06d}"
