"""Field mappings (source path, constants, transforms, custom fields) and the external-id map."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bcbridge.entities import BC
from bcbridge.models import ApiEndpoint, FieldMapping
from bcbridge.push import MappingError, apply_mappings, dispatch_due, sales_order_from_dict
from tests._push import first_company, records, with_external


def _map(target, bc_field, source_path="", **extra):
    return FieldMapping.objects.create(target=target, bc_field=bc_field, source_path=source_path, **extra)


def test_no_rows_passes_the_source_through(db, connection):
    assert apply_mappings(connection, "salesOrders", {"orderDate": "2026-01-02"}) == {"orderDate": "2026-01-02"}


def test_paths_constants_transforms_and_overrides(db, connection):
    _map("salesOrders", "requestedDeliveryDate", "delivery.date", transform="date")
    _map("salesOrders", "shipToCity", "delivery.address.city", transform="upper", max_length=30)
    _map("salesOrders", "salesperson", constant="WEB")
    _map("salesOrders", "discountAmount", "totals.discount", transform="decimal")
    _map("salesOrders", "salesperson", constant="SHOP", connection=connection)  # the connection's own row wins
    source = {
        "delivery": {"date": "2026-03-04T10:00:00Z", "address": {"city": "Lyon"}},
        "totals": {"discount": "1.50"},
        "phoneNumber": "555",
        "ignored": "not a BC field",
    }
    body = apply_mappings(connection, "salesOrders", source)
    assert body == {
        "requestedDeliveryDate": "2026-03-04",
        "shipToCity": "LYON",
        "salesperson": "SHOP",
        "discountAmount": Decimal("1.50"),
        "phoneNumber": "555",
    }


def test_errors_say_which_field_and_why(db, connection):
    _map("salesOrders", "requestedDeliveryDate", "delivery.date", transform="date", required=True)
    with pytest.raises(MappingError) as missing:
        apply_mappings(connection, "salesOrders", {"delivery": {}})
    assert missing.value.field == "requestedDeliveryDate" and "delivery.date" in str(missing.value)
    with pytest.raises(MappingError, match="cannot convert 'soon' to date"):
        apply_mappings(connection, "salesOrders", {"delivery": {"date": "soon"}})
    _map("salesOrderLines", "description", "title", max_length=5)
    with pytest.raises(MappingError, match="description: 'too long' is 8 characters, BC allows 5"):
        apply_mappings(connection, "salesOrderLines", {"title": "too long"})


def test_plain_dict_order_with_mappings_reaches_bc(connection, bc_emulator):
    cid = first_company(connection)
    customer = records(bc_emulator, cid, "customers")[0]
    item = next(r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory")
    _map("salesOrders", "requestedDeliveryDate", "ship_by", transform="date")
    _map("salesOrderLines", "quantity", "qty", transform="decimal", required=True)
    _map("salesOrderLines", "description", "title")
    sales_order_from_dict(
        connection,
        cid,
        {
            "customer": customer["number"],
            "external_document_number": "DICT-1",
            "ship_by": "2026-12-24",
            "lines": [{"item": item["number"], "qty": "4", "title": "Gift wrapped"}],
        },
    )
    assert dispatch_due().sent == 1
    [order] = with_external(bc_emulator, cid, "DICT-1")
    assert order["requestedDeliveryDate"] == "2026-12-24"
    [line] = [r for r in records(bc_emulator, cid, "salesOrderLines") if r["documentId"] == order["id"]]
    assert (line["quantity"], line["description"]) == (4, "Gift wrapped")


def test_custom_field_of_an_extension_catitemgroup(connection, bc_emulator):
    """Seed 004: CatItemGroup lives on the ItemCard page web service, not in API v2.0."""
    cid = first_company(connection)
    item = records(bc_emulator, cid, "items")[0]
    ApiEndpoint.objects.create(
        connection=connection, code="ITEM_CARD", kind="odata_v4", method="GET", url_template="ItemCard('{number}')"
    )
    ApiEndpoint.objects.create(
        connection=connection,
        code="ITEM_CARD_UPDATE",
        kind="odata_v4",
        method="PATCH",
        url_template="ItemCard('{number}')",
    )
    _map("ItemCard", "CatItemGroup", "catalog.group", transform="upper", max_length=80)
    body = apply_mappings(connection, "ItemCard", {"catalog": {"group": "Classic watermelon LED"}})
    assert body == {"CatItemGroup": "CLASSIC WATERMELON LED"}
    with BC(connection) as bc:
        card = bc.call("ITEM_CARD", number=item["number"])
        bc.call("ITEM_CARD_UPDATE", body, etag=card["@odata.etag"], number=item["number"])
        assert bc.call("ITEM_CARD", number=item["number"])["CatItemGroup"] == "CLASSIC WATERMELON LED"
