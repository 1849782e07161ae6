"""Probe: a fault soak over full and incremental syncs while a BC user changes data.

At least 15% of BC's answers fail (429 with Retry-After, 500, 503, resets, slow answers,
truncated bodies); the mirror must still end equal to BC: reconcile finds 0 differences,
the live mirror rows are exactly BC's records (ids and ETags read from the emulator's
store, not from bcbridge), no run failed.
"""

from __future__ import annotations

import random

import pytest

from bcbridge.emulator.faults import FaultRule
from bcbridge.http import RetryPolicy
from bcbridge.models import Customer, Item, SalesInvoice, SyncRun
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set
from tests.soak.conftest import size

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]

SETS = {"customers": Customer, "items": Item, "salesInvoices": SalesInvoice}

#: 18% of BC's answers fail, every kind the issue names.
FAULTS = [
    FaultRule("429", probability=0.04, retry_after=1),
    FaultRule("503", probability=0.03),
    FaultRule("500", probability=0.03, method="GET"),
    FaultRule("reset", probability=0.03, method="GET"),
    FaultRule("truncate", probability=0.03, method="GET"),
    FaultRule("slow", probability=0.02, delay=0.01),
]


def _bc_state(bc_emulator, cid: str, entity_set: str) -> dict[str, str]:
    store = bc_emulator.bc.store
    return {r["id"]: store.etag_of(cid, entity_set, n, r) for n, r in store.iter(cid, entity_set)}


def _user_changes(bc_emulator, cid: str, rng: random.Random) -> None:
    """What a BC user does between two syncs: edits, a new customer, a deleted item."""
    customers = list(_bc_state(bc_emulator, cid, "customers"))
    for key in rng.sample(customers, 3):
        bc_emulator.bc.change(cid, "customers", key, {"city": f"City {rng.randint(1, 999)}"})
    bc_emulator.bc.create(cid, "customers", {"displayName": f"Soak customer {rng.randint(1, 10**6)}"})
    items = list(_bc_state(bc_emulator, cid, "items"))
    bc_emulator.bc.delete(cid, "items", rng.choice(items))
    bc_emulator.clock.advance(600)


def test_fault_soak_over_full_and_incremental_syncs(bc, company, bc_emulator, figures):
    cid = str(company.bc_id)
    rng = random.Random(16)
    # the client retries what the faults break, without sleeping (Retry-After included)
    bc.client.retry = RetryPolicy(max_attempts=12, sleep=lambda seconds: None)
    bc_emulator.control.faults.set(FAULTS, seed=16)
    rounds = size(2, 12)
    for round_no in range(rounds):
        for entity_set in SETS:
            sync_entity_set(bc, company, entity_set, full=round_no % 4 == 0, page_size=7)
        _user_changes(bc_emulator, cid, rng)
    for entity_set in SETS:  # the last changes, still under faults
        sync_entity_set(bc, company, entity_set, full=True, page_size=7)
    counters = bc_emulator.control.counters()
    fired = sum(counters.get("faults", {}).values())
    share = round(100 * fired / max(counters.get("total", 1), 1), 1)
    bc_emulator.control.faults.clear()
    differences = 0
    for entity_set in SETS:
        run = reconcile_entity_set(bc, company, entity_set, fix=False)
        differences += run.missing + run.extra + run.stale
    mismatched = 0
    for entity_set, model in SETS.items():
        mirror = dict(model.objects.filter(company=company).values_list("bc_id", "etag"))
        mirror = {str(k): v for k, v in mirror.items()}
        mismatched += len(set(mirror.items()) ^ set(_bc_state(bc_emulator, cid, entity_set).items()))
    failed = SyncRun.objects.filter(status=SyncRun.Status.FAILED).count()
    figures.add("sync runs", SyncRun.objects.exclude(kind="reconcile").count(), f">= {rounds * 3}", ok=True)
    figures.add("% of BC answers faulted", share, ">= 15", ok=share >= 15)
    figures.add("reconcile differences", differences, 0)
    figures.add("mirror rows unlike BC (id, ETag)", mismatched, 0)
    figures.add("failed runs", failed, 0)
    figures.check()
