"""Bound actions ``Microsoft.NAV.*`` of API v2.0: posting orders, invoices, quotes, journals."""

from __future__ import annotations

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import company_id, company_url


def first(http: httpx.Client, url: str, **params: str) -> dict:
    answer = http.get(url, params={"$top": "1", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["value"][0]


def items(http: httpx.Client, emulator: Emulator, count: int) -> list[dict]:
    answer = http.get(
        f"{company_url(emulator)}/items",
        params={"$top": str(count), "$filter": "type eq 'Inventory'"},
    )
    return answer.json()["value"]


def new_order(http: httpx.Client, emulator: Emulator, quantities: tuple[int, ...] = (3, 2)) -> dict:
    customer = first(http, f"{company_url(emulator)}/customers")
    lines = [
        {"lineType": "Item", "lineObjectNumber": item["number"], "quantity": quantity}
        for item, quantity in zip(items(http, emulator, len(quantities)), quantities, strict=True)
    ]
    answer = http.post(
        f"{company_url(emulator)}/salesOrders",
        json={"customerNumber": customer["number"], "salesOrderLines": lines},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def action(http: httpx.Client, emulator: Emulator, entity_set: str, key: str, name: str) -> httpx.Response:
    return http.post(f"{company_url(emulator)}/{entity_set}({key})/Microsoft.NAV.{name}")


def by_order(http: httpx.Client, emulator: Emulator, entity_set: str, lines: str, number: str) -> list[dict]:
    answer = http.get(
        f"{company_url(emulator)}/{entity_set}",
        params={"$filter": f"orderNumber eq '{number}'", "$expand": lines},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def test_ship_and_invoice_posts_shipment_and_invoice_and_removes_the_order(
    http: httpx.Client, emulator: Emulator
) -> None:
    order = new_order(http, emulator)
    item_before = {
        line["itemId"]: http.get(f"{company_url(emulator)}/items({line['itemId']})").json()
        for line in order["salesOrderLines"]
    }
    customer_before = http.get(f"{company_url(emulator)}/customers({order['customerId']})").json()
    events: list[tuple[str, str]] = []
    emulator.bc.on_change(lambda cid, entity_set, key, change, record: events.append((entity_set, change)))

    answer = action(http, emulator, "salesOrders", order["id"], "shipAndInvoice")

    assert answer.status_code == 204
    assert answer.content == b""
    assert http.get(f"{company_url(emulator)}/salesOrders({order['id']})").status_code == 404
    (shipment,) = by_order(http, emulator, "salesShipments", "salesShipmentLines", order["number"])
    assert shipment["number"].startswith("S-SHPT")
    assert shipment["customerNumber"] == order["customerNumber"]
    assert [
        (line["lineObjectNumber"], line["quantity"], line["lineType"]) for line in shipment["salesShipmentLines"]
    ] == [(line["lineObjectNumber"], line["quantity"], "Item") for line in order["salesOrderLines"]]
    assert all(line["documentNo"] == shipment["number"] for line in shipment["salesShipmentLines"])
    (invoice,) = by_order(http, emulator, "salesInvoices", "salesInvoiceLines", order["number"])
    assert invoice["status"] == "Open"
    assert invoice["orderId"] == order["id"]
    assert invoice["number"].startswith("PS-INV")
    assert invoice["totalAmountIncludingTax"] == order["totalAmountIncludingTax"]
    assert len(invoice["salesInvoiceLines"]) == len(order["salesOrderLines"])
    for line in order["salesOrderLines"]:
        item = http.get(f"{company_url(emulator)}/items({line['itemId']})").json()
        assert item["inventory"] == item_before[line["itemId"]]["inventory"] - line["quantity"]
        assert item["@odata.etag"] != item_before[line["itemId"]]["@odata.etag"]
    customer = http.get(f"{company_url(emulator)}/customers({order['customerId']})").json()
    assert customer["balanceDue"] == pytest.approx(customer_before["balanceDue"] + order["totalAmountIncludingTax"])
    assert ("salesShipments", "created") in events
    assert ("salesInvoices", "created") in events
    assert ("salesOrders", "deleted") in events


def test_ship_only_then_ship_and_invoice(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (4,))
    assert action(http, emulator, "salesOrders", order["id"], "ship").status_code == 204
    after = http.get(
        f"{company_url(emulator)}/salesOrders({order['id']})", params={"$expand": "salesOrderLines"}
    ).json()
    assert after["fullyShipped"] is True
    assert after["lastModifiedDateTime"] >= order["lastModifiedDateTime"]
    assert after["@odata.etag"] != order["@odata.etag"]
    (line,) = after["salesOrderLines"]
    assert (line["shippedQuantity"], line["shipQuantity"], line["invoiceQuantity"]) == (4, 0, 4)
    assert by_order(http, emulator, "salesInvoices", "salesInvoiceLines", order["number"]) == []

    assert action(http, emulator, "salesOrders", order["id"], "shipAndInvoice").status_code == 204
    assert len(by_order(http, emulator, "salesShipments", "salesShipmentLines", order["number"])) == 1
    assert len(by_order(http, emulator, "salesInvoices", "salesInvoiceLines", order["number"])) == 1
    assert http.get(f"{company_url(emulator)}/salesOrders({order['id']})").status_code == 404


def test_ship_is_an_emulator_extension_that_can_be_switched_off(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (1,))
    emulator.config.extra_actions = False
    answer = action(http, emulator, "salesOrders", order["id"], "ship")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "BadRequest_ResourceNotFound"


def test_order_without_lines_cannot_be_posted(http: httpx.Client, emulator: Emulator) -> None:
    customer = first(http, f"{company_url(emulator)}/customers")
    order = http.post(f"{company_url(emulator)}/salesOrders", json={"customerNumber": customer["number"]}).json()
    answer = action(http, emulator, "salesOrders", order["id"], "shipAndInvoice")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "Application_DialogException"
    assert error["message"].startswith("Please add at least one line item to the estimate.")


def draft_invoice(http: httpx.Client, emulator: Emulator) -> dict:
    customer = first(http, f"{company_url(emulator)}/customers")
    lines = [
        {"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 2} for item in items(http, emulator, 2)
    ]
    answer = http.post(
        f"{company_url(emulator)}/salesInvoices",
        json={"customerNumber": customer["number"], "salesInvoiceLines": lines},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_posting_a_sales_invoice_keeps_its_id_and_changes_number_and_status(
    http: httpx.Client, emulator: Emulator
) -> None:
    draft = draft_invoice(http, emulator)
    assert draft["status"] == "Draft"
    emulator.clock.advance(5)

    assert action(http, emulator, "salesInvoices", draft["id"], "post").status_code == 204

    posted = http.get(f"{company_url(emulator)}/salesInvoices({draft['id']})").json()
    assert posted["status"] == "Open"
    assert posted["number"] != draft["number"]
    assert posted["number"].startswith("PS-INV")
    assert posted["remainingAmount"] == posted["totalAmountIncludingTax"] == draft["totalAmountIncludingTax"]
    assert posted["lastModifiedDateTime"] > draft["lastModifiedDateTime"]
    assert posted["@odata.etag"] != draft["@odata.etag"]
    again = action(http, emulator, "salesInvoices", draft["id"], "post")
    assert again.status_code == 400
    assert again.json()["error"]["message"].startswith("The action can be applied to a draft invoice only.")


def test_cancel_a_posted_invoice(http: httpx.Client, emulator: Emulator) -> None:
    draft = draft_invoice(http, emulator)
    assert action(http, emulator, "salesInvoices", draft["id"], "cancel").status_code == 400
    assert action(http, emulator, "salesInvoices", draft["id"], "post").status_code == 204
    posted = http.get(f"{company_url(emulator)}/salesInvoices({draft['id']})").json()

    assert action(http, emulator, "salesInvoices", draft["id"], "cancel").status_code == 204

    canceled = http.get(f"{company_url(emulator)}/salesInvoices({draft['id']})").json()
    assert canceled["status"] == "Canceled"
    assert canceled["remainingAmount"] == 0
    memos = http.get(
        f"{company_url(emulator)}/salesCreditMemos",
        params={"$filter": f"invoiceNumber eq '{posted['number']}'"},
    ).json()["value"]
    assert [(m["status"], m["invoiceId"], m["totalAmountIncludingTax"]) for m in memos] == [
        ("Corrective", draft["id"], posted["totalAmountIncludingTax"])
    ]
    twice = action(http, emulator, "salesInvoices", draft["id"], "cancel")
    assert twice.status_code == 400
    assert "already been canceled" in twice.json()["error"]["message"]


def test_post_a_purchase_invoice(http: httpx.Client, emulator: Emulator) -> None:
    vendor = first(http, f"{company_url(emulator)}/vendors")
    (item,) = items(http, emulator, 1)
    draft = http.post(
        f"{company_url(emulator)}/purchaseInvoices",
        json={
            "vendorNumber": vendor["number"],
            "purchaseInvoiceLines": [{"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 7}],
        },
    )
    assert draft.status_code == 201, draft.text
    invoice = draft.json()

    assert action(http, emulator, "purchaseInvoices", invoice["id"], "post").status_code == 204

    posted = http.get(f"{company_url(emulator)}/purchaseInvoices({invoice['id']})").json()
    assert posted["status"] == "Open"
    assert posted["number"] != invoice["number"]
    restocked = http.get(f"{company_url(emulator)}/items({item['id']})").json()
    assert restocked["inventory"] == item["inventory"] + 7


def test_quote_make_order_and_make_invoice(http: httpx.Client, emulator: Emulator) -> None:
    quotes = http.get(f"{company_url(emulator)}/salesQuotes", params={"$top": "2"}).json()["value"]
    orders_before = int(http.get(f"{company_url(emulator)}/salesOrders/$count").text)

    assert action(http, emulator, "salesQuotes", quotes[0]["id"], "makeOrder").status_code == 204

    assert http.get(f"{company_url(emulator)}/salesQuotes({quotes[0]['id']})").status_code == 404
    assert int(http.get(f"{company_url(emulator)}/salesOrders/$count").text) == orders_before + 1
    newest = http.get(
        f"{company_url(emulator)}/salesOrders",
        params={"$filter": f"customerNumber eq '{quotes[0]['customerNumber']}' and status eq 'Draft'"},
    )
    assert any(o["customerNumber"] == quotes[0]["customerNumber"] for o in newest.json()["value"])

    assert action(http, emulator, "salesQuotes", quotes[1]["id"], "makeInvoice").status_code == 204
    drafts = http.get(f"{company_url(emulator)}/salesInvoices", params={"$filter": "status eq 'Draft'"}).json()["value"]
    assert quotes[1]["customerNumber"] in {d["customerNumber"] for d in drafts}


def test_post_a_journal(http: httpx.Client, emulator: Emulator) -> None:
    cid = company_id(emulator)
    journal = next(
        j
        for j in http.get(f"{company_url(emulator)}/journals").json()["value"]
        if emulator.bc.store.count(cid, "journalLines", parent_key=j["id"])
    )
    lines = http.get(f"{company_url(emulator)}/journals({journal['id']})/journalLines").json()["value"]
    entries_before = int(http.get(f"{company_url(emulator)}/generalLedgerEntries/$count").text)

    assert action(http, emulator, "journals", journal["id"], "post").status_code == 204

    assert http.get(f"{company_url(emulator)}/journals({journal['id']})/journalLines").json()["value"] == []
    entries = int(http.get(f"{company_url(emulator)}/generalLedgerEntries/$count").text)
    assert entries >= entries_before + len(lines)
    assert action(http, emulator, "journals", journal["id"], "post").status_code == 400


def test_unknown_and_unsupported_actions(http: httpx.Client, emulator: Emulator) -> None:
    order = new_order(http, emulator, (1,))
    unknown = action(http, emulator, "salesOrders", order["id"], "explode")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "BadRequest_ResourceNotFound"
    assert "Microsoft.NAV.explode" in unknown.json()["error"]["message"]
    memo = first(http, f"{company_url(emulator)}/salesCreditMemos")
    unsupported = action(http, emulator, "salesCreditMemos", memo["id"], "post")
    assert unsupported.status_code == 501
    assert unsupported.json()["error"]["code"] == "BadRequest_MethodNotImplemented"
    missing = action(http, emulator, "salesOrders", "00000000-0000-0000-0000-00000000abcd", "shipAndInvoice")
    assert missing.status_code == 404
    wrong_verb = http.get(f"{company_url(emulator)}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert wrong_verb.status_code == 405
