"""Partitioned parallel pulls: ranges of ``lastModifiedDateTime`` read by several streams,
the watermark rule when streams finish out of order, crash and resume, children through
``$expand``, and the concurrency budget as BC counts it (the emulator's per-user limiter:
at most 5 requests of a user in flight, docs/bc/5-limits.md §5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from bcbridge.models import Item, ItemVariant, SalesInvoice, SalesInvoiceLine, SyncRun, SyncState
from bcbridge.sync import _upsert, engine
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.partition import Watermark
from bcbridge.sync.registry import parse_datetime

from .test_sync_engine import bc_records, mirror_equals_bc

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- the watermark rule (module docstring of bcbridge.sync.partition) ----------------------


def test_watermark_waits_for_the_lowest_unfinished_range() -> None:
    mark = Watermark(3, start=None)
    mark.written(2, at(50))  # the newest range is read first
    mark.finished(2)
    assert mark.value() is None  # ranges 0 and 1 may still hold older records
    mark.written(0, at(5))
    assert mark.value() == at(5)  # range 0's pages come in timestamp order
    mark.written(1, at(20))
    assert mark.value() == at(5)  # range 1 is above range 0, which is unfinished
    mark.finished(0)
    assert mark.value() == at(20)  # now range 1 is the lowest unfinished
    mark.finished(1)
    assert mark.value() == at(50) and mark.all_done


def test_watermark_never_moves_below_the_start() -> None:
    mark = Watermark(2, start=at(30))
    mark.written(0, at(10))
    assert mark.value() == at(30)
    mark.finished(0)
    mark.written(1, at(40))
    assert mark.value() == at(40)


def test_empty_finished_ranges_do_not_hold_the_watermark_back() -> None:
    mark = Watermark(3, start=None)
    mark.finished(0)  # nothing in the oldest range
    mark.written(1, at(7))
    assert mark.value() == at(7)


# -- against the emulator ------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


def range_requests(bc_emulator, entity_set: str) -> list[str]:
    """Paths of the range-filtered page requests (lower bound ``ge``) the emulator served."""
    return [
        unquote(e["path"])
        for e in bc_emulator.control.requests()
        if f"/{entity_set}?" in unquote(e["path"])
        and "lastModifiedDateTime ge" in unquote(e["path"])
        and "$top=" not in e["path"]
    ]


def limiter_state(bc_emulator) -> dict[str, int]:
    (state,) = bc_emulator.control.limiter.snapshot().values()
    return state


@pytestmark_db
def test_parallel_full_sync_mirrors_items_with_variants(bc, company, bc_emulator):
    run = sync_entity_set(bc, company, "items", page_size=40, streams=5)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert range_requests(bc_emulator, "items"), "the rest of the set was read in ranges"
    mirror_equals_bc(bc_emulator, company, "items", Item)
    variants = bc_records(bc_emulator, company, "itemVariants")
    assert ItemVariant.objects.filter(company=company).count() == len(variants) > 0
    items = bc_records(bc_emulator, company, "items")
    assert Item.all_objects.filter(company=company).count() == len(items)  # no duplicates
    state = SyncState.objects.get(company=company, entity_set="items")
    assert state.watermark == max(parse_datetime(i["lastModifiedDateTime"]) for i in items)
    assert not state.locked
    limits = limiter_state(bc_emulator)
    assert limits["peak_active"] <= 5 and limits["rejected"] == 0


@pytestmark_db
def test_parallel_sync_of_invoices_keeps_lines_through_expand(bc, company, bc_emulator):
    run = sync_entity_set(bc, company, "salesInvoices", page_size=10, streams=4)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert range_requests(bc_emulator, "salesInvoices")
    assert all("$expand=salesInvoiceLines" in path for path in range_requests(bc_emulator, "salesInvoices"))
    mirror_equals_bc(bc_emulator, company, "salesInvoices", SalesInvoice, "salesInvoiceLines", SalesInvoiceLine)


@pytestmark_db
def test_streams_never_exceed_the_connections_budget(bc, company, bc_emulator, settings):
    settings.BCBRIDGE = {**settings.BCBRIDGE, "RATE_LIMIT_CONCURRENCY": 2}
    run = sync_entity_set(bc, company, "items", page_size=40, streams=5)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    limits = limiter_state(bc_emulator)
    assert limits["peak_active"] <= 2 and limits["rejected"] == 0
    mirror_equals_bc(bc_emulator, company, "items", Item)


@pytestmark_db
@pytest.mark.parametrize("crash_at", [2, 4, 7])
def test_crash_mid_parallel_sync_resumes_without_gaps_or_duplicates(bc, company, bc_emulator, monkeypatch, crash_at):
    real = _upsert.write_page
    calls = {"n": 0}

    def crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "write_page", crash)
    run = sync_entity_set(bc, company, "items", page_size=40, streams=5)
    assert run.status == SyncRun.Status.FAILED and "worker killed" in run.error
    state = SyncState.objects.get(company=company, entity_set="items")
    assert not state.locked
    items = bc_records(bc_emulator, company, "items")
    stored = set(Item.objects.filter(company=company).values_list("bc_id", flat=True))
    # no gap below the watermark: every BC record at or before it is in the mirror
    assert state.watermark is not None
    below = [i for i in items if parse_datetime(i["lastModifiedDateTime"]) <= state.watermark]
    assert below and {uuid.UUID(i["id"]) for i in below} <= stored
    monkeypatch.setattr(engine, "write_page", real)
    resumed = sync_entity_set(bc, company, "items", page_size=40, streams=5)
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.error
    everything = len(items) + len(bc_records(bc_emulator, company, "itemVariants"))
    assert resumed.kind == SyncRun.Kind.INCREMENTAL
    assert resumed.fetched < everything  # went on from the watermark, not from the start
    mirror_equals_bc(bc_emulator, company, "items", Item)
    assert Item.all_objects.filter(company=company).count() == len(items)


@pytestmark_db
def test_small_incremental_pull_stays_one_stream(bc, company, bc_emulator):
    assert sync_entity_set(bc, company, "items", page_size=40).status == SyncRun.Status.SUCCEEDED
    bc_emulator.control.log.clear()
    bc_emulator.clock.advance(3600)
    cid = str(company.bc_id)
    first = bc_records(bc_emulator, company, "items", top=1)[0]
    bc_emulator.bc.change(cid, "items", first["id"], {"displayName": "Renamed in BC"})
    run = sync_entity_set(bc, company, "items", page_size=40)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 1
    assert range_requests(bc_emulator, "items") == []
    assert Item.objects.get(company=company, bc_id=first["id"]).display_name == "Renamed in BC"


@pytestmark_db
def test_records_changed_during_a_parallel_full_sync_are_caught_up(bc, company, bc_emulator, monkeypatch):
    """A record changed after its range was read moves past every range's end; the final
    pass from the watermark reads it, and the full sync does not soft-delete it."""
    real = _upsert.write_page
    cid = str(company.bc_id)
    items = bc_records(bc_emulator, company, "items")
    oldest = min(items, key=lambda i: i["lastModifiedDateTime"])
    calls = {"n": 0}

    def change_in_bc_meanwhile(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            bc_emulator.clock.advance(7200)
            bc_emulator.bc.change(cid, "items", oldest["id"], {"displayName": "Changed meanwhile"})
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "write_page", change_in_bc_meanwhile)
    run = sync_entity_set(bc, company, "items", page_size=40, streams=5)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    row = Item.all_objects.get(company=company, bc_id=oldest["id"])
    assert row.display_name == "Changed meanwhile" and not row.deleted
    mirror_equals_bc(bc_emulator, company, "items", Item)


@pytestmark_db
def test_sync_command_streams_option(connection, company, bc_emulator, settings, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.BCBRIDGE = {**settings.BCBRIDGE, "SYNC_PAGE_SIZE": 40}
    call_command("sync", "--connection", connection.name, "--full", "--streams", "3", "items")
    assert "items" in capsys.readouterr().out
    assert range_requests(bc_emulator, "items")
    assert limiter_state(bc_emulator)["peak_active"] <= 3
    mirror_equals_bc(bc_emulator, company, "items", Item)
    with pytest.raises(CommandError, match="--streams must be 1 or more"):
        call_command("sync", "--streams", "0", "items")
