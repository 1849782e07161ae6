"""The contoso warehouse custom API: shipments from sales orders, picks and posting."""

from __future__ import annotations

import httpx

from bcbridge.emulator import Emulator

from ._bc import BASE, company_id, company_url

ROUTE = "api/contoso/warehouse/v1.0"


def route(emulator: Emulator) -> str:
    return f"/v2.0/{emulator.config.tenant}/{emulator.config.environment}/{ROUTE}"


def warehouse(emulator: Emulator) -> str:
    return f"{route(emulator)}/companies({company_id(emulator)})"


def new_order(http: httpx.Client, emulator: Emulator, quantities: tuple[int, ...] = (5, 3)) -> dict:
    customer = http.get(f"{company_url(emulator)}/customers", params={"$top": "1"}).json()["value"][0]
    items = http.get(
        f"{company_url(emulator)}/items",
        params={"$top": str(len(quantities)), "$filter": "type eq 'Inventory'"},
    ).json()["value"]
    lines = [
        {"lineType": "Item", "lineObjectNumber": item["number"], "quantity": quantity}
        for item, quantity in zip(items, quantities, strict=True)
    ]
    answer = http.post(
        f"{company_url(emulator)}/salesOrders",
        json={"customerNumber": customer["number"], "salesOrderLines": lines},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def shipment_of(http: httpx.Client, emulator: Emulator, order: dict) -> dict:
    answer = http.get(
        f"{warehouse(emulator)}/warehouseShipments",
        params={
            "$filter": f"sourceNumber eq '{order['number']}'",
            "$expand": "warehouseShipmentLines",
        },
    )
    assert answer.status_code == 200, answer.text
    (shipment,) = answer.json()["value"]
    return shipment


def test_service_document_metadata_and_companies(http: httpx.Client, emulator: Emulator) -> None:
    document = http.get(route(emulator)).json()
    assert {s["name"] for s in document["value"]} == {
        "companies",
        "warehouseShipments",
        "warehouseShipmentLines",
    }
    metadata = http.get(f"{route(emulator)}/$metadata")
    assert metadata.status_code == 200
    assert metadata.headers["content-type"].startswith("application/xml")
    assert '<EntityType Name="warehouseShipmentLine">' in metadata.text
    assert '<Action Name="registerPick" IsBound="true">' in metadata.text
    companies = http.get(f"{route(emulator)}/companies").json()
    assert companies["@odata.context"] == f"{BASE}{route(emulator)}/$metadata#companies"
    assert company_id(emulator) in {c["id"] for c in companies["value"]}


def test_shipments_are_derived_from_open_sales_orders(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator)
    shipment = shipment_of(http, emulator, order)
    assert shipment["number"].startswith("SH")
    assert shipment["sourceDocument"] == "Sales Order"
    assert shipment["status"] in ("Open", "Released")
    assert shipment["@odata.etag"].startswith('W/"')
    lines = shipment["warehouseShipmentLines"]
    assert [
        (
            line["itemNumber"],
            line["quantity"],
            line["quantityToShip"],
            line["quantityPicked"],
            line["quantityShipped"],
        )
        for line in lines
    ] == [(line["lineObjectNumber"], line["quantity"], line["quantity"], 0, 0) for line in order["salesOrderLines"]]
    assert all(line["documentId"] == shipment["id"] for line in lines)
    assert all(line["binCode"] and line["locationCode"] == shipment["locationCode"] for line in lines)

    single = http.get(f"{warehouse(emulator)}/warehouseShipments({shipment['id']})")
    assert single.status_code == 200
    assert single.headers["ETag"] == single.json()["@odata.etag"]
    assert single.json()["@odata.context"].endswith(
        f"$metadata#companies({company_id(emulator)})/warehouseShipments/$entity"
    )
    contained = http.get(f"{warehouse(emulator)}/warehouseShipments({shipment['id']})/warehouseShipmentLines")
    assert [line["id"] for line in contained.json()["value"]] == [line["id"] for line in lines]


def test_query_options_and_paging(http: httpx.Client, emulator: Emulator) -> None:
    for _ in range(3):
        new_order(http, emulator, (1,))
    answer = http.get(
        f"{warehouse(emulator)}/warehouseShipments",
        params={"$select": "number,status", "$orderby": "number desc", "$count": "true"},
        headers={"Prefer": "odata.maxpagesize=2"},
    )
    body = answer.json()
    assert body["@odata.count"] >= 3
    assert len(body["value"]) == 2
    assert set(body["value"][0]) == {"@odata.etag", "number", "status"}
    assert body["value"][0]["number"] > body["value"][1]["number"]
    assert answer.headers["Preference-Applied"] == "odata.maxpagesize=2"
    following = http.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert following["value"][0]["number"] < body["value"][1]["number"]
    bad = http.get(f"{warehouse(emulator)}/warehouseShipments", params={"$filter": "nope eq 1"})
    assert bad.status_code == 400


def test_patch_quantity_to_ship_register_pick_and_post(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (5, 3))
    shipment = shipment_of(http, emulator, order)
    first, second = shipment["warehouseShipmentLines"]
    line_url = f"{warehouse(emulator)}/warehouseShipmentLines({first['id']})"

    missing = http.patch(line_url, json={"quantityToShip": 2})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "BadRequest_InvalidToken"
    patched = http.patch(line_url, json={"quantityToShip": 2}, headers={"If-Match": first["@odata.etag"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["quantityToShip"] == 2
    assert patched.json()["@odata.etag"] != first["@odata.etag"]
    stale = http.patch(line_url, json={"quantityToShip": 1}, headers={"If-Match": first["@odata.etag"]})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "Request_EntityChanged"
    too_many = http.patch(line_url, json={"quantityToShip": 6}, headers={"If-Match": "*"})
    assert too_many.status_code == 400
    assert "outstanding 5 units" in too_many.json()["error"]["message"]
    read_only = http.patch(line_url, json={"quantityPicked": 5}, headers={"If-Match": "*"})
    assert read_only.status_code == 400
    assert read_only.json()["error"]["code"] == "BadRequest_InvalidOperation"

    shipment_url = f"{warehouse(emulator)}/warehouseShipments({shipment['id']})"
    nothing = http.post(f"{shipment_url}/Microsoft.NAV.post")
    assert nothing.status_code == 400
    assert nothing.json()["error"]["code"] == "Application_DialogException"
    assert nothing.json()["error"]["message"].startswith("There is nothing to post.")

    assert http.post(f"{shipment_url}/Microsoft.NAV.registerPick").status_code == 204
    picked = shipment_of(http, emulator, order)
    assert picked["status"] == "Released"
    assert [line["quantityPicked"] for line in picked["warehouseShipmentLines"]] == [2, 3]

    assert http.post(f"{shipment_url}/Microsoft.NAV.post").status_code == 204

    posted = http.get(
        f"{company_url(emulator)}/salesShipments",
        params={"$filter": f"orderNumber eq '{order['number']}'", "$expand": "salesShipmentLines"},
    ).json()["value"]
    assert [[(line["lineObjectNumber"], line["quantity"]) for line in s["salesShipmentLines"]] for s in posted] == [
        [(first["itemNumber"], 2), (second["itemNumber"], 3)]
    ]
    remaining = shipment_of(http, emulator, order)
    (rest,) = remaining["warehouseShipmentLines"]
    assert (
        rest["itemNumber"],
        rest["quantityShipped"],
        rest["quantityOutstanding"],
        rest["quantityPicked"],
        rest["quantityToShip"],
    ) == (first["itemNumber"], 2, 3, 0, 3)
    order_lines = http.get(f"{company_url(emulator)}/salesOrders({order['id']})/salesOrderLines").json()
    assert [line["shippedQuantity"] for line in order_lines["value"]] == [2, 3]


def test_fully_posted_shipment_disappears(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (2,))
    shipment = shipment_of(http, emulator, order)
    url = f"{warehouse(emulator)}/warehouseShipments({shipment['id']})"
    assert http.post(f"{url}/Microsoft.NAV.registerPick").status_code == 204
    assert http.post(f"{url}/Microsoft.NAV.post").status_code == 204
    assert http.get(url).status_code == 404
    order_after = http.get(f"{company_url(emulator)}/salesOrders({order['id']})").json()
    assert order_after["fullyShipped"] is True


def test_batch_on_the_custom_route(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (1,))
    cid = company_id(emulator)
    shipment = shipment_of(http, emulator, order)
    answer = http.post(
        f"{route(emulator)}/$batch",
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "POST",
                    "url": f"companies({cid})/warehouseShipments({shipment['id']})/Microsoft.NAV.registerPick",
                },
                {
                    "id": "2",
                    "method": "GET",
                    "url": f"companies({cid})/warehouseShipments({shipment['id']})?$expand=warehouseShipmentLines",
                    "dependsOn": ["1"],
                },
            ]
        },
    )
    responses = answer.json()["responses"]
    assert [r["status"] for r in responses] == [204, 200]
    assert responses[1]["body"]["warehouseShipmentLines"][0]["quantityPicked"] == 1


def test_errors(http: httpx.Client, emulator: Emulator) -> None:
    unknown_route = http.get(f"/v2.0/{emulator.config.tenant}/production/api/contoso/nothing/v1.0/companies")
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"]["code"] == "BadRequest_ResourceNotFound"
    assert http.get(f"{warehouse(emulator)}/trucks").status_code == 404
    missing = http.get(f"{warehouse(emulator)}/warehouseShipments(00000000-0000-0000-0000-000000000009)")
    assert missing.status_code == 404
    order = new_order(http, emulator, (1,))
    shipment = shipment_of(http, emulator, order)
    url = f"{warehouse(emulator)}/warehouseShipments({shipment['id']})"
    assert http.post(f"{url}/Microsoft.NAV.explode").status_code == 404
    assert http.delete(url, headers={"If-Match": "*"}).status_code == 405
    assert http.post(f"{warehouse(emulator)}/warehouseShipments", json={}).status_code == 405


def test_shipments_reset_with_the_data(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (1,))
    shipment = shipment_of(http, emulator, order)
    url = f"{warehouse(emulator)}/warehouseShipments({shipment['id']})"
    assert http.post(f"{url}/Microsoft.NAV.registerPick").status_code == 204
    emulator.bc.reset()
    assert http.get(url).status_code == 404
    # The same seed gives the same ids again; the warehouse state is gone with the old data.
    again = shipment_of(http, emulator, new_order(http, emulator, (1,)))
    assert again["id"] == shipment["id"]
    assert again["warehouseShipmentLines"][0]["quantityPicked"] == 0


def test_snapshot_batch_rolls_back_a_registered_pick(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (2,))
    cid = company_id(emulator)
    shipment = shipment_of(http, emulator, order)
    answer = http.post(
        f"{route(emulator)}/$batch",
        headers={"Isolation": "snapshot"},
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "POST",
                    "url": f"companies({cid})/warehouseShipments({shipment['id']})/Microsoft.NAV.registerPick",
                },
                {
                    "id": "2",
                    "method": "GET",
                    "url": f"companies({cid})/warehouseShipments(00000000-0000-0000-0000-000000000001)",
                },
            ]
        },
    )
    assert [r["status"] for r in answer.json()["responses"]] == [204, 404]
    assert shipment_of(http, emulator, order)["warehouseShipmentLines"][0]["quantityPicked"] == 0
