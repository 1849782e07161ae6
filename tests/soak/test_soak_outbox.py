"""Probe: the outbox sends every order exactly once whatever BC and the workers do.

Scenarios (each its own batch of orders): BC down for a while; every POST reset; lost
answers (reset, truncated body, 500 and 503 *after* BC created the order); leases that run
out while a slow BC answers and a second dispatcher takes over; ``$batch`` pushes whose
requests are reset before or after BC processed them. The count of each
``externalDocumentNumber`` is read from the emulator's store.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from bcbridge.emulator.faults import FaultRule
from bcbridge.models import OutboxMessage, OutboxStatus
from bcbridge.push import dispatch, sales_order
from bcbridge.push.dispatch import DispatchPolicy, dispatch_due
from tests._push import dispatch_until_done, first_company, records
from tests.soak.conftest import size

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]


def _orders(connection, bc_emulator, cid: str, prefix: str, count: int) -> list[str]:
    customer = records(bc_emulator, cid, "customers")[0]
    item = next(r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory")
    numbers = [f"{prefix}-{i}" for i in range(count)]
    for number in numbers:
        sales_order(
            connection,
            cid,
            customer=customer["number"],
            external_document_number=number,
            lines=[{"item": item["number"], "quantity": 1}],
        )
    return numbers


def _scenario_down(bc_emulator) -> dict:
    bc_emulator.control.faults.set([FaultRule("503", path="/salesOrders")])

    def between(round_no, now):
        if round_no == 4:
            bc_emulator.control.faults.clear()

    return {"between": between}


def _scenario_resets(bc_emulator) -> dict:
    bc_emulator.control.faults.set([FaultRule("reset", count=40, method="POST", path="/salesOrders$")])
    return {}


def _scenario_lost_answers(bc_emulator) -> dict:
    rules = [
        FaultRule(fault, probability=0.12, method="POST", path="/salesOrders$", after=True)
        for fault in ("reset", "truncate", "500", "503")
    ]
    bc_emulator.control.faults.set(rules, seed=7)
    return {}


def _scenario_batch_resets(bc_emulator) -> dict:
    rules = [
        FaultRule("reset", count=2, method="POST", path=r"/\$batch$"),
        FaultRule("reset", count=2, method="POST", path=r"/\$batch$", after=True),
    ]
    bc_emulator.control.faults.set(rules)
    return {"batch": True}


SCENARIOS = {
    "bc-down": _scenario_down,
    "resets": _scenario_resets,
    "lost-answers": _scenario_lost_answers,
    "batch-resets": _scenario_batch_resets,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_outbox_sends_each_order_exactly_once(connection, bc_emulator, figures, scenario):
    cid = first_company(connection)
    numbers = _orders(connection, bc_emulator, cid, scenario.upper(), size(8, 60))
    options = SCENARIOS[scenario](bc_emulator)
    dispatch_until_done(rounds=200, **options)
    bc_emulator.control.faults.clear()
    _figures(figures, bc_emulator, cid, numbers)


def test_outbox_lease_expiry_with_slow_bc_and_a_second_dispatcher(connection, bc_emulator, figures, monkeypatch):
    """Every few POSTs, BC is so slow that the lease runs out and a second dispatcher (its
    clock past the lease) starts; the first goes on afterwards."""
    cid = first_company(connection)
    numbers = _orders(connection, bc_emulator, cid, "LEASE", size(10, 100))
    real_send = dispatch._steps.send
    rng = random.Random(3)
    depth: list[int] = []
    takeovers = Counter[str]()

    def slow_send(bc, write):
        answer = real_send(bc, write)
        if not depth and rng.random() < 0.3:
            depth.append(1)
            try:
                later = timezone.now() + timedelta(seconds=DispatchPolicy().lease_seconds + 1)
                result = dispatch_due(limit=rng.randint(1, 5), now=later)
                takeovers["claimed"] += result.claimed
            finally:
                depth.clear()
        return answer

    monkeypatch.setattr(dispatch._steps, "send", slow_send)
    first = dispatch_due()
    monkeypatch.undo()
    dispatch_until_done(now=timezone.now() + timedelta(hours=1))
    figures.add("claims taken over", takeovers["claimed"], "> 0", ok=takeovers["claimed"] > 0)
    figures.add("sends refused by the fence", first.lost_lease, "(information)", ok=True)
    _figures(figures, bc_emulator, cid, numbers)


def _figures(figures, bc_emulator, cid: str, numbers: list[str]) -> None:
    in_bc = Counter(r.get("externalDocumentNumber") for r in records(bc_emulator, cid, "salesOrders"))
    figures.add("orders", len(numbers), len(numbers))
    figures.add("created twice or more", sum(1 for n in numbers if in_bc[n] > 1), 0)
    figures.add("never created", sum(1 for n in numbers if in_bc[n] == 0), 0)
    figures.add("parked", OutboxMessage.objects.filter(status=OutboxStatus.PARKED).count(), 0)
    figures.add("not sent", OutboxMessage.objects.exclude(status=OutboxStatus.SENT).count(), 0)
    figures.check()
