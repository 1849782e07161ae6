"""Reconciliation against the emulator: deletes, missing and stale records, and the command."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from bcbridge.entities import BC
from bcbridge.models import Item, SalesOrder, SalesOrderLine, SyncRun
from bcbridge.signals import record_deleted
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set

pytestmark = pytest.mark.django_db(transaction=True)


def bc_items(company):
    with BC(company.connection) as facade:
        return {r["id"]: r for r in facade.company(str(company.bc_id)).items.list()}


def test_reconcile_finds_deletes_missing_and_stale_and_repairs_them(bc, company, bc_emulator):
    cid = str(company.bc_id)
    assert sync_entity_set(bc, company, "items").status == SyncRun.Status.SUCCEEDED
    keys = list(bc_items(company))
    # in BC: two deletes and a change the mirror has not pulled yet
    bc_emulator.bc.delete(cid, "items", keys[0])
    bc_emulator.bc.delete(cid, "items", keys[1])
    bc_emulator.bc.change(cid, "items", keys[2], {"displayName": "Changed in BC"})
    # in the mirror: a lost row and a row with an old ETag
    Item.all_objects.filter(company=company, bc_id=keys[3]).delete()
    Item.all_objects.filter(company=company, bc_id=keys[4]).update(etag='W/"old"')
    deleted = []
    record_deleted.connect(
        lambda sender, instance, **kw: deleted.append(str(instance.bc_id)), weak=False, dispatch_uid="test-reconcile"
    )
    try:
        run = reconcile_entity_set(bc, company, "items")
    finally:
        record_deleted.disconnect(dispatch_uid="test-reconcile")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.missing, run.extra, run.stale) == (1, 2, 2)
    assert sorted(deleted) == sorted(keys[:2])
    assert not Item.objects.filter(bc_id__in=keys[:2]).exists()
    assert Item.all_objects.filter(bc_id__in=keys[:2], deleted=True).count() == 2
    assert Item.objects.get(company=company, bc_id=keys[2]).display_name == "Changed in BC"
    records = bc_items(company)
    rows = {str(r.bc_id): r.etag for r in Item.objects.filter(company=company)}
    assert rows == {k: r["@odata.etag"] for k, r in records.items()}
    again = reconcile_entity_set(bc, company, "items")
    assert again.differences == 0 and again.fetched == len(records)


def test_reconcile_check_only_changes_nothing(bc, company, bc_emulator):
    sync_entity_set(bc, company, "items")
    key = next(iter(bc_items(company)))
    bc_emulator.bc.delete(str(company.bc_id), "items", key)
    run = reconcile_entity_set(bc, company, "items", fix=False)
    assert run.extra == 1 and run.deleted == 0
    assert Item.objects.filter(company=company, bc_id=key).exists()


def test_reconcile_repairs_documents_with_their_lines(bc, company, bc_emulator):
    cid = str(company.bc_id)
    sync_entity_set(bc, company, "salesOrders")
    order = SalesOrder.objects.filter(company=company, lines__isnull=False).first()
    line = order.lines.first()
    bc_emulator.bc.delete(cid, "salesOrderLines", str(line.bc_id))
    run = reconcile_entity_set(bc, company, "salesOrders")
    assert run.stale == 1 and run.updated == 1 and run.deleted == 1
    assert not order.lines.filter(bc_id=line.bc_id).exists()
    assert SalesOrderLine.all_objects.get(bc_id=line.bc_id).deleted
    bc_emulator.bc.delete(cid, "salesOrders", str(order.bc_id))
    run = reconcile_entity_set(bc, company, "salesOrders")
    assert run.extra == 1
    # a deleted document's lines go with it
    assert not SalesOrderLine.objects.filter(parent_id=order.pk).exists()


def test_reconcile_command_exit_status(connection, company, bc_emulator, capsys):
    call_command("sync", "items")
    call_command("reconcile", "items")  # equal: exit 0
    assert "the mirror equals BC" in capsys.readouterr().out
    key = next(iter(bc_items(company)))
    bc_emulator.bc.delete(str(company.bc_id), "items", key)
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile", "--check", "items")
    assert exit_info.value.code == 1
    assert "0 missing, 1 extra, 0 stale" in capsys.readouterr().out
    assert Item.objects.filter(bc_id=uuid.UUID(key)).exists()
    with pytest.raises(SystemExit):
        call_command("reconcile", "items")
    call_command("reconcile", "items")
    assert not Item.objects.filter(bc_id=uuid.UUID(key)).exists()


def test_reconcile_a_web_service_lists_it_again_to_repair(bc, company, bc_emulator):
    from bcbridge.models import MirrorRecord

    assert sync_entity_set(bc, company, "CustomerCard", api="ODataV4").status == SyncRun.Status.SUCCEEDED
    rows = MirrorRecord.objects.filter(company=company, api="ODataV4", entity_set="CustomerCard")
    gone = rows.first()
    MirrorRecord.all_objects.filter(pk=gone.pk).update(etag='W/"old"')
    lost = rows.exclude(pk=gone.pk).first()
    MirrorRecord.all_objects.filter(pk=lost.pk).delete()
    run = reconcile_entity_set(bc, company, "CustomerCard", api="ODataV4")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.missing, run.extra, run.stale) == (1, 0, 1)
    assert reconcile_entity_set(bc, company, "CustomerCard", api="ODataV4").differences == 0
