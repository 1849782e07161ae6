"""Sales orders through the outbox: one deep insert, ids resolved, written back, actions."""

from __future__ import annotations

from bcbridge.models import ExternalIdMap, OutboxMessage, OutboxStatus
from bcbridge.push import dispatch_due, sales_order
from tests._push import first_company, records, with_external


def _customer_and_items(emulator, company_id, n=2):
    customer = records(emulator, company_id, "customers")[0]
    items = [
        r for r in records(emulator, company_id, "items") if r.get("type") == "Inventory" and not r.get("blocked")
    ][:n]
    return customer, items


def test_sales_order_is_one_deep_insert_with_ids_written_back(connection, bc_emulator, emulator_transport):
    cid = first_company(connection)
    customer, items = _customer_and_items(bc_emulator, cid)
    message = sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="WEB-1001",
        lines=[
            {"item": items[0]["number"], "quantity": 2},
            {"item": items[1]["number"], "quantity": 3, "unitPrice": 9.5},
        ],
    )
    assert message.status == OutboxStatus.PENDING
    before = emulator_transport.count("/salesOrders")
    result = dispatch_due()
    assert (result.claimed, result.sent) == (1, 1)
    assert emulator_transport.count("/salesOrders") - before == 1  # the deep insert, nothing else
    message.refresh_from_db()
    [order] = with_external(bc_emulator, cid, "WEB-1001")
    assert message.status == OutboxStatus.SENT
    assert (message.bc_id, message.bc_number) == (order["id"], order["number"])
    assert message.bc_etag.startswith('W/"')
    lines = [r for r in records(bc_emulator, cid, "salesOrderLines") if r["documentId"] == order["id"]]
    assert sorted((line["itemId"], line["quantity"]) for line in lines) == sorted(
        [(items[0]["id"], 2), (items[1]["id"], 3)]
    )
    assert order["customerId"] == customer["id"]
    mapped = dict(
        ExternalIdMap.objects.values_list("entity_set", "bc_id").filter(entity_set__in=["customers", "salesOrders"])
    )
    assert mapped == {"customers": customer["id"], "salesOrders": order["id"]}


def test_second_order_uses_the_external_id_map_without_lookups(connection, bc_emulator, emulator_transport):
    cid = first_company(connection)
    customer, items = _customer_and_items(bc_emulator, cid, 1)
    for number in ("WEB-1", "WEB-2"):
        sales_order(
            connection,
            cid,
            customer=customer["number"],
            external_document_number=number,
            lines=[{"item": items[0]["number"], "quantity": 1}],
        )
    dispatch_due(limit=1)
    customers_before, items_before = emulator_transport.count("/customers"), emulator_transport.count("/items")
    dispatch_due()
    assert (emulator_transport.count("/customers"), emulator_transport.count("/items")) == (
        customers_before,
        items_before,
    )
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2


def test_missing_customer_is_created_once(connection, bc_emulator):
    cid = first_company(connection)
    _, items = _customer_and_items(bc_emulator, cid, 1)
    sales_order(
        connection,
        cid,
        customer="shop-customer-77",
        system="shop",
        external_document_number="WEB-77",
        create_customer={"displayName": "Shop Customer 77", "email": "c77@example.com"},
        lines=[{"item": {"id": items[0]["id"]}, "quantity": 1}],
    )
    assert dispatch_due().sent == 1
    created = [c for c in records(bc_emulator, cid, "customers") if c.get("email") == "c77@example.com"]
    assert len(created) == 1
    row = ExternalIdMap.objects.get(system="shop", entity_set="customers", external_id="shop-customer-77")
    assert row.bc_id == created[0]["id"]
    assert with_external(bc_emulator, cid, "WEB-77")[0]["customerId"] == created[0]["id"]


def test_ship_and_invoice_follow_up(connection, bc_emulator):
    cid = first_company(connection)
    customer, items = _customer_and_items(bc_emulator, cid, 1)
    message = sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="WEB-SI",
        lines=[{"item": items[0]["number"], "quantity": 1}],
        actions=["shipAndInvoice"],
    )
    assert dispatch_due().sent == 1
    message.refresh_from_db()
    assert message.state["actions_done"] == ["shipAndInvoice"]
    invoices = [r for r in records(bc_emulator, cid, "salesInvoices") if r.get("externalDocumentNumber") == "WEB-SI"]
    assert len(invoices) == 1


def test_validation_error_is_parked_with_bcs_message(connection, bc_emulator):
    cid = first_company(connection)
    customer, items = _customer_and_items(bc_emulator, cid, 1)
    message = sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="WEB-BAD",
        fields={"currencyCode": "NOT-A-CURRENCY-CODE"},
        lines=[{"item": items[0]["number"], "quantity": 1}],
    )
    result = dispatch_due()
    assert result.parked == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.PARKED
    assert message.last_status == 400 and message.last_error_code
    assert "CorrelationId" not in message.last_error and message.last_error
    assert with_external(bc_emulator, cid, "WEB-BAD") == []


def test_unknown_item_parks_with_a_mapping_error(connection, bc_emulator):
    cid = first_company(connection)
    customer, _ = _customer_and_items(bc_emulator, cid, 1)
    message = sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="WEB-NOITEM",
        lines=[{"item": "NO-SUCH-SKU", "quantity": 1}],
    )
    assert dispatch_due().parked == 1
    message.refresh_from_db()
    assert "salesOrderLines.lines[0].item" in message.last_error and "NO-SUCH-SKU" in message.last_error
