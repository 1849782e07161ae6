"""The sync engine against the emulator: full load, incremental pull, children, crash and resume."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from bcbridge.entities import BC
from bcbridge.models import (
    Item,
    ItemVariant,
    MirrorRecord,
    SalesInvoice,
    SalesInvoiceLine,
    SyncConfig,
    SyncRun,
    SyncState,
)
from bcbridge.odata import iter_pages
from bcbridge.signals import record_created, record_deleted, record_updated
from bcbridge.sync import _upsert, engine
from bcbridge.sync.companies import load_companies
from bcbridge.sync.engine import sync, sync_entity_set

pytestmark = pytest.mark.django_db(transaction=True)


def bc_records(bc_emulator, company, entity_set, **params):
    """What BC has, read through the API (the source of truth for every comparison)."""
    with BC(company.connection) as facade:
        return list(facade.company(str(company.bc_id)).entity_set(entity_set).list(**params))


def mirror_equals_bc(bc_emulator, company, entity_set, model, lines=None, line_model=None):
    expand = [lines] if lines else None
    records = bc_records(bc_emulator, company, entity_set, expand=expand)
    rows = {row.bc_id: row for row in model.objects.filter(company=company)}
    assert set(rows) == {uuid.UUID(r["id"]) for r in records}
    for record in records:
        row = rows[uuid.UUID(record["id"])]
        assert row.etag == record["@odata.etag"]
        assert row.raw == {k: v for k, v in record.items() if k != lines}
        if lines:
            stored = {line.bc_id: line.etag for line in row.lines.all()}
            assert stored == {uuid.UUID(line["id"]): line["@odata.etag"] for line in record[lines]}
    assert model.all_objects.filter(company=company).count() >= len(rows)
    if line_model is not None:
        assert line_model.objects.filter(company=company, parent__deleted=True).count() == 0


def test_full_sync_mirrors_items_with_variants(bc, company, bc_emulator):
    run = sync_entity_set(bc, company, "items", page_size=200)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.FULL
    items = bc_records(bc_emulator, company, "items")
    assert run.pages == -(-len(items) // 200)
    assert Item.objects.filter(company=company).count() == len(items) == run.created - ItemVariant.objects.count()
    variants = bc_records(bc_emulator, company, "itemVariants")
    assert ItemVariant.objects.filter(company=company).count() == len(variants) > 0
    item = Item.objects.filter(company=company, variants__isnull=False).first()
    record = next(r for r in items if r["id"] == str(item.bc_id))
    assert item.number == record["number"] and item.display_name == record["displayName"]
    assert str(item.unit_price).rstrip("0").rstrip(".") == str(record["unitPrice"]).rstrip("0").rstrip(".")
    assert item.last_modified_date_time.isoformat().startswith(record["lastModifiedDateTime"][:19])
    assert all(v.item_id == item.bc_id for v in item.variants.all())
    state = SyncState.objects.get(company=company, entity_set="items")
    assert state.watermark == max(i.last_modified_date_time for i in Item.objects.filter(company=company))
    assert not state.locked


def test_incremental_sync_after_creates_updates_and_deletes(bc, company, bc_emulator):
    cid = str(company.bc_id)
    sync_entity_set(bc, company, "items")
    existing = bc_records(bc_emulator, company, "items", top=3)
    bc_emulator.clock.advance(3600)
    created = bc_emulator.bc.create(cid, "items", {"displayName": "New lamp", "unitPrice": 12.5})
    bc_emulator.bc.change(cid, "items", existing[0]["id"], {"displayName": "Renamed"})
    bc_emulator.bc.delete(cid, "items", existing[1]["id"])
    events = []

    def listen(signal):
        def receiver(sender, entity_set, company, instance, raw, **kwargs):
            events.append((signal, entity_set, str(instance.bc_id)))

        return receiver

    receivers = {s: listen(n) for n, s in (("created", record_created), ("updated", record_updated))}
    for signal, receiver in receivers.items():
        signal.connect(receiver, weak=False)
    try:
        run = sync_entity_set(bc, company, "items")
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver)
    assert run.kind == SyncRun.Kind.INCREMENTAL and run.status == SyncRun.Status.SUCCEEDED
    assert run.created == 1 and run.updated == 1
    # the incremental filter reads only what changed since the watermark, plus what the
    # overlap window re-reads harmlessly (unchanged)
    assert run.fetched - run.unchanged == 2
    assert run.fetched < 20
    assert ("created", "items", created["id"]) in events and ("updated", "items", existing[0]["id"]) in events
    assert Item.objects.get(company=company, bc_id=existing[0]["id"]).display_name == "Renamed"
    # a delete is invisible to an incremental pull; a full sync (or reconcile) finds it
    assert Item.objects.filter(company=company, bc_id=existing[1]["id"]).exists()
    run = sync_entity_set(bc, company, "items", full=True)
    assert run.deleted >= 1
    assert not Item.objects.filter(company=company, bc_id=existing[1]["id"]).exists()
    assert Item.all_objects.get(company=company, bc_id=existing[1]["id"]).deleted
    mirror_equals_bc(bc_emulator, company, "items", Item)


def test_lines_stay_consistent_with_their_documents(bc, company, bc_emulator):
    cid = str(company.bc_id)
    sync_entity_set(bc, company, "salesInvoices", page_size=40)
    mirror_equals_bc(bc_emulator, company, "salesInvoices", SalesInvoice, "salesInvoiceLines", SalesInvoiceLine)
    invoice = bc_records(bc_emulator, company, "salesInvoices", expand=["salesInvoiceLines"], top=5)[-1]
    lines = invoice["salesInvoiceLines"]
    assert len(lines) >= 2
    bc_emulator.clock.advance(60)
    bc_emulator.bc.delete(cid, "salesInvoiceLines", lines[0]["id"])
    bc_emulator.bc.change(cid, "salesInvoiceLines", lines[1]["id"], {"quantity": 7})
    deleted = []

    def on_deleted(sender, instance, **kwargs):
        deleted.append(str(instance.bc_id))

    record_deleted.connect(on_deleted, weak=False)
    try:
        run = sync_entity_set(bc, company, "salesInvoices")
    finally:
        record_deleted.disconnect(on_deleted)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert deleted == [lines[0]["id"]]
    header = SalesInvoice.objects.get(company=company, bc_id=invoice["id"])
    assert lines[0]["id"] not in {str(line.bc_id) for line in header.lines.all()}
    assert header.lines.get(bc_id=lines[1]["id"]).quantity == 7
    mirror_equals_bc(bc_emulator, company, "salesInvoices", SalesInvoice, "salesInvoiceLines", SalesInvoiceLine)


def test_crash_mid_sync_then_resume_loses_and_duplicates_nothing(bc, company, bc_emulator, monkeypatch):
    real = _upsert.write_page
    calls = {"n": 0}

    def crash_on_third_page(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "write_page", crash_on_third_page)
    run = sync_entity_set(bc, company, "items", page_size=100, streams=1)
    assert run.status == SyncRun.Status.FAILED and "worker killed" in run.error
    assert run.pages == 2
    assert Item.objects.filter(company=company).count() == 200  # the two committed pages
    state = SyncState.objects.get(company=company, entity_set="items")
    assert state.watermark == max(i.last_modified_date_time for i in Item.objects.filter(company=company))
    assert not state.locked
    monkeypatch.setattr(engine, "write_page", real)
    resumed = sync_entity_set(bc, company, "items", page_size=100, streams=1)
    assert resumed.status == SyncRun.Status.SUCCEEDED and resumed.kind == SyncRun.Kind.INCREMENTAL
    total = len(bc_records(bc_emulator, company, "items"))
    assert resumed.fetched < total  # continued from the watermark, not from the start
    mirror_equals_bc(bc_emulator, company, "items", Item)
    assert Item.all_objects.filter(company=company).count() == total


def test_bc_failure_mid_sync_keeps_committed_pages(bc, company, bc_emulator):
    bc_emulator.control.faults.add(fault="400", path="skiptoken", count=1)
    run = sync_entity_set(bc, company, "customers", page_size=30)
    assert run.status == SyncRun.Status.FAILED and run.pages == 1
    assert run.fetched == 30
    assert sync_entity_set(bc, company, "customers", page_size=30).status == SyncRun.Status.SUCCEEDED
    assert MirrorRecord.objects.count() == 0
    from bcbridge.models import Customer

    mirror_equals_bc(bc_emulator, company, "customers", Customer)


def test_second_worker_skips_a_locked_set(bc, company):
    state = SyncState.objects.create(connection=company.connection, company=company, entity_set="items")
    from bcbridge.sync import _state

    assert _state.acquire(state, "worker-a")
    run = sync_entity_set(bc, company, "items", worker="worker-b")
    assert run.status == SyncRun.Status.SKIPPED and "worker-a" in run.error
    assert Item.objects.count() == 0
    _state.release(state, "worker-a")
    assert sync_entity_set(bc, company, "items", worker="worker-b").status == SyncRun.Status.SUCCEEDED


def test_generic_mirror_needs_no_code(bc, company, bc_emulator):
    run = sync_entity_set(bc, company, "paymentTerms")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    records = bc_records(bc_emulator, company, "paymentTerms")
    rows = MirrorRecord.objects.filter(company=company, entity_set="paymentTerms")
    assert {r.key for r in rows} == {r["id"] for r in records}
    assert {r.key: r.raw for r in rows} == {r["id"]: r for r in records}


def test_sync_command_uses_selected_companies_and_defaults(connection, company, bc_emulator, capsys):
    call_command("sync", "--connection", connection.name, "items", "customers")
    out = capsys.readouterr().out
    assert "items" in out and "customers" in out
    assert SyncConfig.objects.filter(connection=connection).count() >= 9  # the core defaults
    assert Item.objects.filter(company=company).count() == len(bc_records(bc_emulator, company, "items"))
    assert set(SyncRun.objects.values_list("company", flat=True)) == {company.pk}


def test_sync_says_so_when_no_company_is_selected(connection, bc_emulator):
    load_companies(connection)
    report = sync(connection)
    assert report.runs == []
    assert "none selected" in report.notes[0]


def test_web_service_mirrors_generically_by_its_metadata_key(bc, company, bc_emulator):
    run = sync_entity_set(bc, company, "SalesOrders", api="ODataV4")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    rows = MirrorRecord.objects.filter(company=company, api="ODataV4", entity_set="SalesOrders")
    with BC(company.connection) as facade:
        url = facade.urls.web_service(company.name, "SalesOrders")
        records = [r for page in iter_pages(facade.client, url) for r in page["value"]]
    # the page's key is (Document_Type, No): stored as "Order,<No>"
    assert {r.key for r in rows} == {f"{r['Document_Type']},{r['No']}" for r in records}
    assert run.kind == SyncRun.Kind.FULL and run.created == len(records) > 0
    again = sync_entity_set(bc, company, "SalesOrders", api="ODataV4")
    assert again.created == 0 and again.updated == 0 and again.unchanged == len(records)
    assert sync_entity_set(bc, company, "NoSuchPage", api="ODataV4").status == SyncRun.Status.FAILED
