"""Bulk pushes in ``$batch``: up to 100 operations per request; atomic batch messages."""

from __future__ import annotations

from bcbridge.models import OutboxMessage, OutboxStatus
from bcbridge.push import dispatch_due, enqueue, sales_order
from tests._push import first_company, records, with_external


def test_many_orders_travel_in_few_batch_requests(connection, bc_emulator, emulator_transport):
    cid = first_company(connection)
    customer = records(bc_emulator, cid, "customers")[0]
    item = next(r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory")
    for i in range(120):
        sales_order(
            connection,
            cid,
            customer=customer["number"],
            external_document_number=f"BULK-{i}",
            lines=[{"item": item["number"], "quantity": 1}],
        )
    sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="BULK-BAD",
        fields={"currencyCode": "NOT-A-CURRENCY-CODE"},
        lines=[{"item": item["number"], "quantity": 1}],
    )
    before = emulator_transport.count("/$batch")
    result = dispatch_due(batch=True)
    assert emulator_transport.count("/$batch") - before == 2  # 121 writes: 100 + 21
    assert (result.sent, result.parked) == (120, 1)
    assert all(len(with_external(bc_emulator, cid, f"BULK-{i}")) == 1 for i in range(120))
    bad = OutboxMessage.objects.get(status=OutboxStatus.PARKED)
    assert bad.last_status == 400 and bad.last_error


def test_atomic_batch_message_is_all_or_nothing(connection, bc_emulator):
    cid = first_company(connection)
    operations = [
        {"method": "POST", "entity_set": "customers", "body": {"displayName": "Atomic One"}},
        {
            "method": "POST",
            "entity_set": "customers",
            "body": {"displayName": "Atomic Two", "currencyCode": "NOT-A-CURRENCY-CODE"},
        },
    ]
    message = enqueue(connection, cid, "batch", payload={"operations": operations}, atomic=True)
    assert dispatch_due().parked == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.PARKED
    assert not [c for c in records(bc_emulator, cid, "customers") if c["displayName"].startswith("Atomic")]
    operations[1]["body"].pop("currencyCode")
    ok = enqueue(connection, cid, "batch", payload={"operations": operations}, atomic=True)
    assert dispatch_due().sent == 1
    ok.refresh_from_db()
    assert len(ok.result) == 2 and all(r["id"] for r in ok.result)
