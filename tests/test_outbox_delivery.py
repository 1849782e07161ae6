"""The outbox delivers every message exactly once: BC down, 429 storms, lost answers, crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bcbridge.emulator.faults import FaultRule
from bcbridge.exceptions import BadRequest, RateLimited, ServerError, TransportError
from bcbridge.models import OutboxMessage, OutboxStatus
from bcbridge.push import dispatch, dispatch_due, enqueue, sales_order
from bcbridge.push.dispatch import DispatchPolicy, claim, classify
from tests._push import dispatch_until_done, first_company, records, with_external


def _orders(connection, bc_emulator, cid, count, prefix="ORD"):
    customer = records(bc_emulator, cid, "customers")[0]
    item = next(r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory")
    for i in range(count):
        sales_order(
            connection,
            cid,
            customer=customer["number"],
            external_document_number=f"{prefix}-{i}",
            lines=[{"item": item["number"], "quantity": 1 + i % 3}],
        )


def _assert_once(bc_emulator, cid, count, prefix="ORD"):
    for i in range(count):
        assert len(with_external(bc_emulator, cid, f"{prefix}-{i}")) == 1, f"{prefix}-{i}"
    assert OutboxMessage.objects.exclude(status=OutboxStatus.SENT).count() == 0


def test_enqueue_belongs_to_the_callers_transaction(connection, bc_emulator):
    cid = first_company(connection)

    def caller_fails() -> None:
        with transaction.atomic():
            enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "x"})
            raise RuntimeError("caller rolls back")

    with pytest.raises(RuntimeError):
        caller_fails()
    assert OutboxMessage.objects.count() == 0
    first = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "x"}, dedupe_key="k1")
    again = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "y"}, dedupe_key="k1")
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1


def test_bc_down_for_a_while_then_back(connection, bc_emulator):
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 5)
    bc_emulator.control.faults.add(FaultRule("503", path="/api/v2.0/companies"))
    down = dispatch_due()
    assert (down.claimed, down.retried, down.sent) == (5, 5, 0)
    assert set(OutboxMessage.objects.values_list("last_status", flat=True)) == {503}

    def outage_ends(round_no, now):
        if round_no == 3:
            bc_emulator.control.faults.clear()

    result, _ = dispatch_until_done(between=outage_ends, now=timezone.now() + timedelta(seconds=5))
    assert result.sent == 5
    _assert_once(bc_emulator, cid, 5)


def test_429_storm(connection, bc_emulator):
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 8)
    bc_emulator.control.faults.set([FaultRule("429", probability=0.6, path="/salesOrders")], seed=3)
    result, _ = dispatch_until_done()
    assert result.retried > 0 and result.sent == 8
    _assert_once(bc_emulator, cid, 8)
    # Each retried create looked for an earlier attempt first, and found none.
    assert not any(m.state.get("adopted") for m in OutboxMessage.objects.all())


@pytest.mark.parametrize("fault", ["500", "504", "reset"])
def test_lost_answer_is_looked_up_not_resent(connection, bc_emulator, fault):
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 3)
    bc_emulator.control.faults.add(FaultRule(fault, count=3, method="POST", path="/salesOrders$", after=True))
    first = dispatch_due()
    assert first.retried == 3
    assert all(m.outcome_unknown for m in OutboxMessage.objects.all())
    result, _ = dispatch_until_done(now=timezone.now() + timedelta(minutes=1))
    assert result.adopted == 3
    _assert_once(bc_emulator, cid, 3)


class WorkerKilled(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def test_crash_between_sending_and_recording(connection, bc_emulator, monkeypatch):
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 2, prefix="CRASH")

    def die(job, **changes):
        raise WorkerKilled

    monkeypatch.setattr(dispatch, "_record", die)
    with pytest.raises(WorkerKilled):
        dispatch_due()
    monkeypatch.undo()
    assert len(with_external(bc_emulator, cid, "CRASH-0")) == 1  # it reached BC
    # Claims are per message: the second order was never claimed.
    assert OutboxMessage.objects.filter(status=OutboxStatus.IN_FLIGHT).count() == 1
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 1
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    # A restarted worker within the lease leaves the claimed one alone...
    assert dispatch_due().claimed == 0
    # ...and after it, takes it over as "outcome unknown" and finds the order in BC.
    later = timezone.now() + timedelta(hours=2)
    result = dispatch_due(now=later)
    assert result.claimed == 2 and result.sent == 2 and result.adopted == 1
    _assert_once(bc_emulator, cid, 2, prefix="CRASH")


def test_create_without_lookup_is_parked_when_outcome_unknown(connection, bc_emulator):
    cid = first_company(connection)
    message = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "No Lookup"})
    bc_emulator.control.faults.add(FaultRule("500", count=1, method="POST", path="/customers$", after=True))
    dispatch_due()
    result = dispatch_due(now=timezone.now() + timedelta(minutes=1))
    assert result.parked == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.PARKED and "check BC" in message.last_error
    assert len([c for c in records(bc_emulator, cid, "customers") if c["displayName"] == "No Lookup"]) == 1


def test_claims_do_not_overlap(connection, bc_emulator):
    cid = first_company(connection)
    for i in range(6):
        enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": f"c{i}"})
    first, second = claim(4), claim(4)
    assert len(first) == 4 and len(second) == 2
    assert not {m.pk for m in first} & {m.pk for m in second}
    assert all(m.status == OutboxStatus.IN_FLIGHT and m.attempts == 1 for m in first + second)


def test_classify_is_a_pure_decision():
    assert classify(RateLimited("x", status=429), writing=True).unknown is True
    assert classify(RateLimited("x", status=429), writing=True).documented_unprocessed is True
    assert classify(RateLimited("x", status=429), writing=False).unknown is False
    assert classify(ServerError("x", status=500), writing=True).unknown is True
    assert classify(ServerError("x", status=500), writing=False).unknown is False
    assert classify(BadRequest("x", status=400), writing=True).action == "park"
    assert classify(TransportError("x"), writing=True).action == "retry"
    policy = DispatchPolicy(rng=lambda: 0.0)
    assert policy.delay(1, None) == 1.0 and policy.delay(3, None) == 4.0
    assert policy.delay(1, 30.0) == 30.0  # Retry-After wins
    assert policy.delay(30, None) == policy.backoff_cap / 2


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_send_each_message_once(bc_emulator, emulator_transport):
    """Two workers (threads with their own database connections) drain one outbox."""
    import threading

    from django.db import connection as db_connection

    from tests.conftest import make_connection

    connection = make_connection(bc_emulator)
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 12, prefix="PAR")
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            while True:
                result = dispatch_due(limit=2)
                with lock:
                    claimed.append(result.claimed)
                if result.claimed == 0:
                    return
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(claimed) == 12
    _assert_once(bc_emulator, cid, 12, prefix="PAR")


def test_a_second_dispatcher_after_lease_expiry_sends_nothing_twice(connection, bc_emulator, monkeypatch):
    """Issue #16 item 1: dispatcher A is slow (its lease runs out after the first POST);
    dispatcher B takes over. A must not send what B now holds: every order once in BC."""
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 5, prefix="LEASE")
    real_send = dispatch._steps.send
    took_over: list[dispatch.DispatchResult] = []
    started: list[bool] = []

    def slow_send(bc, write):
        answer = real_send(bc, write)
        if not started:  # A's first POST took longer than the lease: B starts
            started.append(True)
            later = timezone.now() + timedelta(seconds=DispatchPolicy().lease_seconds + 1)
            took_over.append(dispatch_due(now=later))
        return answer

    monkeypatch.setattr(dispatch._steps, "send", slow_send)
    first = dispatch_due()
    monkeypatch.undo()
    assert took_over[0].sent == 5 and took_over[0].adopted == 1  # B found A's first order in BC
    assert first.lost_lease == 1 and first.sent == 0
    _assert_once(bc_emulator, cid, 5, prefix="LEASE")


def test_fence_refuses_a_claim_taken_over(connection, bc_emulator):
    cid = first_company(connection)
    enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "fenced"})
    (mine,) = claim(1)
    job = dispatch.Job(mine, mine.attempt_id)
    dispatch.fence(job, 60, timezone.now())  # still ours: renewed
    mine.refresh_from_db()
    assert mine.lease_expires_at > timezone.now() + timedelta(seconds=50)
    (theirs,) = claim(1, now=timezone.now() + timedelta(seconds=61))
    assert theirs.pk == mine.pk and theirs.attempt_id != job.token
    with pytest.raises(dispatch.LeaseLost):
        dispatch.fence(job, 60, timezone.now())


def test_dispatch_claims_one_message_at_a_time(connection, bc_emulator, monkeypatch):
    """Per-message claims: while the first message is sent, the others stay pending for
    other dispatchers."""
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 3, prefix="ONE")
    seen: list[int] = []
    real_send = dispatch._steps.send

    def counting_send(bc, write):
        seen.append(OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count())
        return real_send(bc, write)

    monkeypatch.setattr(dispatch._steps, "send", counting_send)
    assert dispatch_due().sent == 3
    assert seen == [2, 1, 0]


@pytest.mark.parametrize("fault", ["503", "429"])
def test_503_or_429_after_processing_is_looked_up(connection, bc_emulator, fault):
    """Issue #16 item 2: a gateway answers 503 (or 429) after BC created the order; the
    retry finds it by externalDocumentNumber instead of creating a second one."""
    cid = first_company(connection)
    _orders(connection, bc_emulator, cid, 4, prefix="GW")
    bc_emulator.control.faults.add(FaultRule(fault, count=4, method="POST", path="/salesOrders$", after=True))
    first = dispatch_due()
    assert first.retried == 4
    assert all(m.outcome_unknown for m in OutboxMessage.objects.all())
    result, _ = dispatch_until_done(now=timezone.now() + timedelta(minutes=5))
    assert result.adopted == 4
    _assert_once(bc_emulator, cid, 4, prefix="GW")


def test_429_on_a_create_without_lookup_is_resent(connection, bc_emulator):
    """BC documents 429 as "not processed" (docs/bc/5-limits.md §5): a create without lookup fields
    is sent again rather than parked."""
    cid = first_company(connection)
    enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "Retry Me"})
    bc_emulator.control.faults.add(FaultRule("429", count=1, method="POST", path="/customers$"))
    result, _ = dispatch_until_done()
    assert result.sent == 1 and result.parked == 0
    assert len([c for c in records(bc_emulator, cid, "customers") if c["displayName"] == "Retry Me"]) == 1
