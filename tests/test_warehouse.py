"""Seed 000's warehouse flow through registry endpoints against the emulator's custom API."""

from __future__ import annotations

import pytest

from bcbridge.entities import BC
from bcbridge.exceptions import BadRequest, ConcurrencyConflict
from bcbridge.models import ApiEndpoint, OutboxStatus
from bcbridge.push import dispatch_due, warehouse
from tests._push import first_company, records


@pytest.fixture
def bc(connection, bc_emulator):
    cid = first_company(connection)
    customer = records(bc_emulator, cid, "customers")[0]
    items = [r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory"][:2]
    for n in range(2):  # open orders with quantities to ship, so there are warehouse shipments
        bc_emulator.bc.create(
            cid,
            "salesOrders",
            {
                "customerNumber": customer["number"],
                "externalDocumentNumber": f"WH-{n}",
                "salesOrderLines": [{"lineType": "Item", "itemId": item["id"], "quantity": 3 + n} for item in items],
            },
        )
    warehouse.install_warehouse_endpoints(connection)
    with BC(connection) as facade:
        yield facade


def test_endpoints_are_registry_rows(bc):
    codes = set(ApiEndpoint.objects.filter(connection=bc.connection).values_list("code", flat=True))
    assert set(warehouse.WAREHOUSE_ENDPOINTS) <= codes
    warehouse.install_warehouse_endpoints(bc.connection)  # idempotent
    assert ApiEndpoint.objects.filter(connection=bc.connection).count() == len(codes)


def test_pick_register_and_post(bc, bc_emulator):
    cid = bc.company().company_id
    found = warehouse.shipments(bc)
    assert found and all(s["warehouseShipmentLines"] for s in found)
    location = found[0]["locationCode"]
    assert {s["locationCode"] for s in warehouse.shipments(bc, location=location)} == {location}
    shipment = found[0]
    posted_before = len(records(bc_emulator, cid, "salesShipments"))
    for line in warehouse.shipment(bc, shipment["id"])["warehouseShipmentLines"]:
        updated = warehouse.update_pick(bc, line, line["quantityOutstanding"])
        assert updated["quantityToShip"] == line["quantityOutstanding"]
        with pytest.raises(ConcurrencyConflict):
            warehouse.update_pick(bc, line, 0)  # the old ETag is stale now
    warehouse.register_pick(bc, shipment["id"])
    picked = warehouse.shipment(bc, shipment["id"])
    assert picked["status"] == "Released"
    assert all(line["quantityPicked"] == line["quantityToShip"] for line in picked["warehouseShipmentLines"])
    warehouse.post_shipment(bc, shipment["id"])
    assert len(records(bc_emulator, cid, "salesShipments")) == posted_before + 1


def test_too_much_to_ship_is_bcs_error(bc):
    line = warehouse.shipments(bc)[0]["warehouseShipmentLines"][0]
    with pytest.raises(BadRequest, match="outstanding"):
        warehouse.update_pick(bc, line, line["quantityOutstanding"] + 1)


def test_codeunits(bc):
    listed = warehouse.shipment_list(bc)
    assert listed and listed[0]["warehouseShipmentLines"]
    location = listed[0]["locationCode"]
    assert {s["locationCode"] for s in warehouse.shipment_list(bc, locationCode=location)} == {location}
    first, second = warehouse.next_sales_order_no(bc), warehouse.next_sales_order_no(bc)
    assert first and first != second


def test_register_and_post_through_the_outbox(bc, bc_emulator):
    shipment = warehouse.shipments(bc)[0]
    pick = warehouse.enqueue_register_pick(bc.connection, None, shipment["id"])
    post = warehouse.enqueue_post_shipment(bc.connection, None, shipment["id"])
    assert dispatch_due().sent == 2
    pick.refresh_from_db()
    post.refresh_from_db()
    assert pick.status == post.status == OutboxStatus.SENT
