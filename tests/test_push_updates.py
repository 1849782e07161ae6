"""Updates carry the ETag; a 409 is re-read and re-applied or parked, per the policy."""

from __future__ import annotations

import pytest

from bcbridge.models import OutboxStatus
from bcbridge.push import dispatch_due, enqueue
from tests._push import first_company, records


def _customer(bc_emulator, cid):
    return records(bc_emulator, cid, "customers")[3]


def _current(bc_emulator, cid, key):
    return next(r for r in records(bc_emulator, cid, "customers") if r["id"] == key)


def test_update_with_fresh_etag(connection, bc_emulator):
    cid = first_company(connection)
    customer = _customer(bc_emulator, cid)
    message = enqueue(
        connection,
        cid,
        "update",
        entity_set="customers",
        key=customer["id"],
        payload={"phoneNumber": "555-0100"},
        etag="",
    )
    assert dispatch_due().sent == 1
    message.refresh_from_db()
    assert _current(bc_emulator, cid, customer["id"])["phoneNumber"] == "555-0100"
    assert message.bc_etag and message.result["phoneNumber"] == "555-0100"


def _stale_update(connection, bc_emulator, cid, policy, bc_change):
    from bcbridge.entities import BC

    customer = _customer(bc_emulator, cid)
    with BC(connection) as bc:
        seen = bc.company(cid).customers.get(customer["id"])
    bc_emulator.bc.change(cid, "customers", customer["id"], bc_change)  # a BC user edits meanwhile
    return enqueue(
        connection,
        cid,
        "update",
        entity_set="customers",
        key=customer["id"],
        payload={"phoneNumber": "555-0199"},
        etag=seen["@odata.etag"],
        original={"phoneNumber": seen["phoneNumber"]},
        conflict_policy=policy,
    ), customer["id"]


def test_409_merge_reapplies_when_bc_changed_other_fields(connection, bc_emulator):
    cid = first_company(connection)
    message, key = _stale_update(connection, bc_emulator, cid, "merge", {"email": "new@example.com"})
    assert dispatch_due().sent == 1
    current = _current(bc_emulator, cid, key)
    assert (current["phoneNumber"], current["email"]) == ("555-0199", "new@example.com")
    message.refresh_from_db()
    assert message.state.get("reapplied") is True


def test_409_merge_parks_when_bc_changed_the_same_field(connection, bc_emulator):
    cid = first_company(connection)
    message, key = _stale_update(connection, bc_emulator, cid, "merge", {"phoneNumber": "555-7777"})
    assert dispatch_due().parked == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.PARKED
    assert "phoneNumber" in message.last_error and "555-7777" in message.last_error
    assert _current(bc_emulator, cid, key)["phoneNumber"] == "555-7777"


@pytest.mark.parametrize(
    ("policy", "expected_status", "phone"),
    [
        ("reapply", OutboxStatus.SENT, "555-0199"),
        ("park", OutboxStatus.PARKED, "555-7777"),
    ],
)
def test_409_other_policies(connection, bc_emulator, policy, expected_status, phone):
    cid = first_company(connection)
    message, key = _stale_update(connection, bc_emulator, cid, policy, {"phoneNumber": "555-7777"})
    dispatch_due()
    message.refresh_from_db()
    assert message.status == expected_status
    assert _current(bc_emulator, cid, key)["phoneNumber"] == phone
    if policy == "park":
        assert message.last_status == 409 and message.last_error_code == "Request_EntityChanged"


def test_delete_of_a_record_already_gone_counts_as_done(connection, bc_emulator):
    cid = first_company(connection)
    customer = bc_emulator.bc.create(cid, "customers", {"displayName": "Temporary"})
    message = enqueue(connection, cid, "delete", entity_set="customers", key=customer["id"])
    bc_emulator.bc.delete(cid, "customers", customer["id"])
    assert dispatch_due().sent == 1
    message.refresh_from_db()
    assert message.state.get("gone") is True
