"""Helpers of the push tests: a connection with loaded companies, and a dispatcher loop
that moves its own clock instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from bcbridge.models import OutboxMessage, OutboxStatus
from bcbridge.push import DispatchResult, dispatch_due
from bcbridge.sync.companies import load_companies


def first_company(connection: Any) -> str:
    """Load the connection's companies, select the first, return its id."""
    companies = load_companies(connection)
    company = companies[0]
    company.selected = True
    company.save(update_fields=["selected"])
    return str(company.bc_id)


def records(emulator: Any, company_id: str, entity_set: str) -> list[dict[str, Any]]:
    return [dict(r) for _, r in emulator.bc.store.iter(company_id, entity_set)]


def with_external(emulator: Any, company_id: str, number: str) -> list[dict[str, Any]]:
    return [r for r in records(emulator, company_id, "salesOrders") if r.get("externalDocumentNumber") == number]


def dispatch_until_done(
    *, batch: bool = False, rounds: int = 60, now: datetime | None = None, between: Any = None
) -> tuple[DispatchResult, datetime]:
    """Run the dispatcher, jumping the clock to the next due message, until nothing is open.

    ``between(round, now)`` runs before each round (e.g. to end an outage).
    """
    now = now or timezone.now()
    total = DispatchResult()
    for round_no in range(rounds):
        if between is not None:
            between(round_no, now)
        total += dispatch_due(batch=batch, now=now)
        pending = OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])
        if not pending.exists():
            return total, now
        nxt = (
            min(m.next_attempt_at for m in pending.filter(status=OutboxStatus.PENDING))
            if pending.filter(status=OutboxStatus.PENDING).exists()
            else now
        )
        now = max(now, nxt) + timedelta(milliseconds=1)
    raise AssertionError(f"outbox not drained after {rounds} rounds: {total}")
