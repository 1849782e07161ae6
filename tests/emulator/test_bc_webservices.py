"""OData v4 web services: published pages and query, BC field names, keys, writes, codeunits."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import BASE, company_id, company_url


def odata_root(emulator: Emulator) -> str:
    return f"/v2.0/{emulator.config.tenant}/{emulator.config.environment}/ODataV4"


def company_name(emulator: Emulator) -> str:
    return str(emulator.bc.companies()[0]["name"])


def company_path(emulator: Emulator) -> str:
    return f"{odata_root(emulator)}/Company('{quote(company_name(emulator), safe='')}')"


def first_item(http: httpx.Client, emulator: Emulator) -> dict:
    return http.get(f"{company_url(emulator)}/items", params={"$top": "1"}).json()["value"][0]


def test_item_card_uses_bc_field_names_and_the_same_data_as_api_v2(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    answer = http.get(f"{company_path(emulator)}/ItemCard", params={"$top": "1"})
    assert answer.status_code == 200
    body = answer.json()
    company = quote(company_name(emulator), safe="")
    assert body["@odata.context"] == (f"{BASE}{odata_root(emulator)}/$metadata#Company('{company}')/ItemCard")
    (row,) = body["value"]
    assert row["@odata.etag"].startswith('W/"')
    assert (
        row["No"],
        row["Description"],
        row["Base_Unit_of_Measure"],
        row["Unit_Price"],
        row["Inventory"],
        row["Blocked"],
    ) == (
        item["number"],
        item["displayName"],
        item["baseUnitOfMeasureCode"],
        item["unitPrice"],
        item["inventory"],
        item["blocked"],
    )
    assert {"CatItemGroup", "UPC_Code", "Product_Group_Code", "Replenishment_System"} <= set(row)


def test_single_row_by_key_and_by_named_key(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    by_value = http.get(f"{company_path(emulator)}/ItemCard('{item['number']}')")
    assert by_value.status_code == 200
    assert by_value.json()["@odata.context"].endswith("/ItemCard/$entity")
    assert by_value.headers["ETag"] == by_value.json()["@odata.etag"]
    by_name = http.get(f"{company_path(emulator)}/ItemCard(No='{item['number']}')")
    assert by_name.json()["No"] == item["number"]
    missing = http.get(f"{company_path(emulator)}/ItemCard('NO-SUCH-ITEM')")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "BadRequest_NotFound"


def test_company_as_query_parameter(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    for name in ("company", "Company"):
        answer = http.get(
            f"{odata_root(emulator)}/ItemCard('{item['number']}')",
            params={name: company_name(emulator)},
        )
        assert answer.status_code == 200
        assert answer.json()["No"] == item["number"]
    by_id = http.get(f"{odata_root(emulator)}/ItemCard", params={"company": company_id(emulator), "$top": "1"})
    assert by_id.status_code == 200
    unknown = http.get(f"{odata_root(emulator)}/ItemCard", params={"company": "Nobody Inc."})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "Internal_CompanyNotFound"


@pytest.mark.unverified  # the composite key form is not in the documents
def test_sales_orders_composite_key_and_lines(http: httpx.Client, emulator: Emulator) -> None:
    order = http.get(f"{company_url(emulator)}/salesOrders", params={"$top": "1", "$expand": "salesOrderLines"}).json()[
        "value"
    ][0]
    answer = http.get(f"{company_path(emulator)}/SalesOrders(Document_Type='Order',No='{order['number']}')")
    assert answer.status_code == 200, answer.text
    row = answer.json()
    assert (
        row["Document_Type"],
        row["No"],
        row["Sell_to_Customer_No"],
        row["Amount_Including_VAT"],
    ) == ("Order", order["number"], order["customerNumber"], order["totalAmountIncludingTax"])
    assert row["Status"] in ("Open", "Released", "Pending Approval")
    lines = http.get(
        f"{company_path(emulator)}/SalesOrderLines",
        params={"$filter": f"Document_No eq '{order['number']}'"},
    ).json()["value"]
    assert [(line["Line_No"], line["No"], line["Quantity"]) for line in lines] == [
        (line["sequence"], line["lineObjectNumber"], line["quantity"]) for line in order["salesOrderLines"]
    ]
    line = lines[0]
    single = http.get(
        f"{company_path(emulator)}/SalesOrderLines(Document_Type='Order',"
        f"Document_No='{order['number']}',Line_No={line['Line_No']})"
    )
    assert single.status_code == 200
    assert single.json()["Line_No"] == line["Line_No"]
    partial = http.get(f"{company_path(emulator)}/SalesOrders('{order['number']}')")
    assert partial.status_code == 400


def test_query_options_paging_and_count(http: httpx.Client, emulator: Emulator) -> None:
    answer = http.get(
        f"{company_path(emulator)}/CustomerCard",
        params={"$select": "No,Name,City", "$orderby": "No desc", "$filter": "Blocked eq ' '"},
        headers={"Prefer": "odata.maxpagesize=5"},
    )
    body = answer.json()
    assert len(body["value"]) == 5
    assert set(body["value"][0]) == {"@odata.etag", "No", "Name", "City"}
    numbers = [row["No"] for row in body["value"]]
    assert numbers == sorted(numbers, reverse=True)
    following = http.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert following["value"][0]["No"] < numbers[-1]
    count = http.get(f"{company_path(emulator)}/CustomerCard/$count")
    assert count.status_code == 200
    assert int(count.text) == int(http.get(f"{company_url(emulator)}/customers/$count").text)
    bad = http.get(f"{company_path(emulator)}/CustomerCard", params={"$filter": "number eq '1'"})
    assert bad.status_code == 400


def test_patch_item_card_writes_the_api_record(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    url = f"{company_path(emulator)}/ItemCard('{item['number']}')"
    row = http.get(url).json()
    assert http.patch(url, json={"Unit_Price": 9.5}).json()["error"]["code"] == "BadRequest_InvalidToken"

    answer = http.patch(
        url,
        json={"Unit_Price": 9.5, "CatItemGroup": "LED BEZELS"},
        headers={"If-Match": row["@odata.etag"]},
    )

    assert answer.status_code == 200, answer.text
    assert (answer.json()["Unit_Price"], answer.json()["CatItemGroup"]) == (9.5, "LED BEZELS")
    assert answer.json()["@odata.etag"] != row["@odata.etag"]
    api = http.get(f"{company_url(emulator)}/items({item['id']})").json()
    assert api["unitPrice"] == 9.5
    assert api["lastModifiedDateTime"] >= item["lastModifiedDateTime"]
    assert api["@odata.etag"] != item["@odata.etag"]
    assert http.get(url).json()["CatItemGroup"] == "LED BEZELS"
    stale = http.patch(url, json={"Unit_Price": 1}, headers={"If-Match": row["@odata.etag"]})
    assert stale.status_code == 409
    read_only = http.patch(url, json={"Inventory": 1}, headers={"If-Match": "*"})
    assert read_only.status_code == 400
    assert read_only.json()["error"]["code"] == "BadRequest_InvalidOperation"
    unknown = http.patch(url, json={"Colour": "red"}, headers={"If-Match": "*"})
    assert unknown.status_code == 400


def test_extension_field_only_patch_changes_the_record(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    url = f"{company_path(emulator)}/ItemCard('{item['number']}')"
    answer = http.patch(url, json={"UPC_Code": "760479100105"}, headers={"If-Match": "*"})
    assert answer.status_code == 200
    api = http.get(f"{company_url(emulator)}/items({item['id']})").json()
    assert api["@odata.etag"] != item["@odata.etag"]


def test_post_and_delete_customer_card(http: httpx.Client, emulator: Emulator) -> None:
    created = http.post(
        f"{company_path(emulator)}/CustomerCard",
        json={"Name": "Web Service Customer", "City": "Oslo", "Customer_Price_Group": "EXPORT"},
    )
    assert created.status_code == 201, created.text
    row = created.json()
    assert (row["Name"], row["City"], row["Customer_Price_Group"]) == (
        "Web Service Customer",
        "Oslo",
        "EXPORT",
    )
    api = http.get(f"{company_url(emulator)}/customers", params={"$filter": f"number eq '{row['No']}'"}).json()
    assert [c["displayName"] for c in api["value"]] == ["Web Service Customer"]
    url = f"{company_path(emulator)}/CustomerCard('{row['No']}')"
    assert http.delete(url).status_code == 400
    assert http.delete(url, headers={"If-Match": row["@odata.etag"]}).status_code == 204
    assert http.get(url).status_code == 404


def test_reference_pages_and_the_items_by_location_query(http: httpx.Client, emulator: Emulator) -> None:
    agents = http.get(f"{company_path(emulator)}/ShippingAgents").json()["value"]
    assert {"DHL", "FEDEX", "UPS"} <= {a["Code"] for a in agents}
    groups = http.get(f"{company_path(emulator)}/CustomerPriceGroups").json()["value"]
    assert all({"Code", "Description", "Allow_Line_Disc"} <= set(g) for g in groups)
    locations = http.get(f"{company_path(emulator)}/Locations").json()["value"]
    api_locations = http.get(f"{company_url(emulator)}/locations").json()["value"]
    assert {loc["Code"] for loc in locations} == {loc["code"] for loc in api_locations}
    item = first_item(http, emulator)
    stock = http.get(
        f"{company_path(emulator)}/Itemsbylocation",
        params={"$filter": f"Item_No eq '{item['number']}'"},
    ).json()["value"]
    assert sum(row["Inventory"] for row in stock) == pytest.approx(item["inventory"])
    assert all("@odata.etag" not in row for row in stock)
    assert (
        http.patch(
            f"{company_path(emulator)}/ShippingAgents('DHL')",
            json={"Name": "x"},
            headers={"If-Match": "*"},
        ).status_code
        == 405
    )


def test_unknown_service_is_not_found(http: httpx.Client, emulator: Emulator) -> None:
    answer = http.get(f"{company_path(emulator)}/NoSuchPage")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "BadRequest_ResourceNotFound"
    assert "NoSuchPage" in answer.json()["error"]["message"]
    assert http.get(f"{odata_root(emulator)}/NoSuchPage").status_code == 404
    assert http.post(f"{odata_root(emulator)}/APICodeunits_NoSuchProcedure", json={}).status_code == 404


def test_service_document_metadata_and_companies(http: httpx.Client, emulator: Emulator) -> None:
    document = http.get(f"{odata_root(emulator)}/").json()
    assert {
        "Company",
        "ItemCard",
        "CustomerCard",
        "SalesOrders",
        "SalesOrderLines",
        "Locations",
        "ShippingAgents",
        "CustomerPriceGroups",
        "Itemsbylocation",
    } <= {s["name"] for s in document["value"]}
    metadata = http.get(f"{odata_root(emulator)}/$metadata")
    assert metadata.headers["content-type"].startswith("application/xml")
    assert (
        '<EntityType Name="SalesOrders"><Key><PropertyRef Name="Document_Type" />'
        '<PropertyRef Name="No" /></Key>' in metadata.text
    )
    assert '<ActionImport Name="APICodeunits_GetNextSalesOrderNo"' in metadata.text
    companies = http.get(f"{odata_root(emulator)}/Company").json()["value"]
    assert company_name(emulator) in {c["Name"] for c in companies}


def test_get_next_sales_order_no_consumes_the_number_series(http: httpx.Client, emulator: Emulator) -> None:
    url = f"{odata_root(emulator)}/APICodeunits_GetNextSalesOrderNo"
    answer = http.post(url, params={"Company": company_name(emulator)}, json={})
    assert answer.status_code == 200
    body = answer.json()
    assert body["@odata.context"] == f"{BASE}{odata_root(emulator)}/$metadata#Edm.String"
    assert body["value"].startswith("S-ORD")
    second = http.post(url, params={"company": company_name(emulator)}).json()["value"]
    assert second != body["value"]
    customer = http.get(f"{company_url(emulator)}/customers", params={"$top": "1"}).json()["value"][0]
    order = http.post(f"{company_url(emulator)}/salesOrders", json={"customerNumber": customer["number"]}).json()
    assert order["number"] not in (body["value"], second)
    assert http.get(url, params={"company": company_name(emulator)}).status_code == 405


def test_get_whse_shipment_list_filters_by_location(http: httpx.Client, emulator: Emulator) -> None:
    customer = http.get(f"{company_url(emulator)}/customers", params={"$top": "1"}).json()["value"][0]
    item = first_item(http, emulator)
    order = http.post(
        f"{company_url(emulator)}/salesOrders",
        json={
            "customerNumber": customer["number"],
            "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 4}],
        },
    ).json()
    url = f"{odata_root(emulator)}/APICodeunits_GetWhseShipmentList"
    everything = json.loads(http.post(url, params={"company": company_name(emulator)}, json={}).json()["value"])
    mine = next(s for s in everything if s["sourceNumber"] == order["number"])
    assert mine["warehouseShipmentLines"][0]["itemNumber"] == item["number"]
    at_location = json.loads(
        http.post(
            url,
            params={"company": company_name(emulator)},
            json={"locationCode": mine["locationCode"]},
        ).json()["value"]
    )
    assert at_location
    assert {s["locationCode"] for s in at_location} == {mine["locationCode"]}
    wrapped = json.loads(
        http.post(
            url,
            params={"company": company_name(emulator)},
            json={"filtersJson": json.dumps({"locationCode": "NOWHERE"})},
        ).json()["value"]
    )
    assert wrapped == []
    emulator.config.codeunit_result_as_text = False
    as_array = http.post(url, params={"company": company_name(emulator)}, json={}).json()["value"]
    assert isinstance(as_array, list)
    assert len(as_array) == len(everything)


def test_batch_of_web_service_calls(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    answer = http.post(
        f"{odata_root(emulator)}/$batch",
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "GET",
                    "url": f"ItemCard('{item['number']}')",
                    "headers": {"Company": company_name(emulator)},
                },
                {
                    "id": "2",
                    "method": "POST",
                    "url": "APICodeunits_GetNextSalesOrderNo",
                    "headers": {"Company": company_name(emulator)},
                    "body": {},
                },
            ]
        },
    )
    responses = answer.json()["responses"]
    assert [r["status"] for r in responses] == [200, 200]
    assert responses[0]["body"]["No"] == item["number"]
    assert responses[1]["body"]["value"].startswith("S-ORD")


@pytest.mark.unverified  # PUT on web services is not documented (put_status)
def test_put_follows_the_put_setting(http: httpx.Client, emulator: Emulator) -> None:
    item = first_item(http, emulator)
    url = f"{company_path(emulator)}/ItemCard('{item['number']}')"
    assert http.put(url, json={"Unit_Price": 1}, headers={"If-Match": "*"}).status_code == 405
    emulator.config.put_status = 0
    assert http.put(url, json={"Unit_Price": 1}, headers={"If-Match": "*"}).status_code == 200
