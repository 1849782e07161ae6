"""Events out: rows written with the change, delivered signed (verified by the
``standardwebhooks`` library in a real local receiver), retried over more than 24 h, in order
per record, 410 disables, resend; the payload is the record as the API serializes it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bcbridge.events import record_changes
from bcbridge.events.delivery import deliver_due, resend
from bcbridge.models import (
    Event,
    EventAttempt,
    EventDelivery,
    EventDeliveryStatus,
    EventSubscription,
    Item,
    OutboxMessage,
)
from bcbridge.signals import record_updated
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set
from bcbridge.sync.registry import mirror_for

from ._api import BASE, api_client, make_key
from ._events import records_of, running_receiver
from ._push import dispatch_until_done, records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
def mirrored(bc, company):
    assert sync_entity_set(bc, company, "items").status == "succeeded"
    return company


def subscribe(receiver, **fields):
    subscription = EventSubscription.objects.create(name=fields.pop("name", "app"), url=receiver.url, **fields)
    receiver.secret = subscription.secret
    return subscription


def deliver_all(rounds=40):
    """Run the delivery job, moving its clock to the next due retry instead of sleeping."""
    now = timezone.now()
    total = []
    for _ in range(rounds):
        moment = now
        total.append(deliver_due(now=lambda moment=moment: moment))
        pending = EventDelivery.objects.filter(status=EventDeliveryStatus.PENDING, subscription__enabled=True)
        if not pending.exists():
            return total
        later = pending.filter(next_attempt_at__gt=now).order_by("next_attempt_at").first()
        if later is not None and total[-1].delivered == 0:
            now = later.next_attempt_at + timedelta(milliseconds=1)
    raise AssertionError("deliveries not finished")


def test_changes_arrive_signed_with_the_api_record(mirrored, bc, bc_emulator, receiver):
    subscription = subscribe(receiver)
    cid = str(mirrored.bc_id)
    created = bc_emulator.bc.create(cid, "items", {"number": "EV-1", "displayName": "Evented"})
    assert sync_entity_set(bc, mirrored, "items").status == "succeeded"
    changed = bc_emulator.bc.change(cid, "items", created["id"], {"unitPrice": 9.99})
    assert sync_entity_set(bc, mirrored, "items").status == "succeeded"
    victim = next(r for r in records(bc_emulator, cid, "items") if r["id"] != created["id"])
    bc_emulator.bc.delete(cid, "items", victim["id"])
    reconcile_entity_set(bc, mirrored, "items")
    deliver_all()
    assert receiver.forged == []
    arrived = records_of(receiver)
    assert sorted(arrived) == sorted(
        [("item.created", created["id"]), ("item.updated", created["id"]), ("record.deleted", victim["id"])]
    )
    assert [kind for kind, ident in arrived if ident == created["id"]] == ["item.created", "item.updated"]
    _, key = make_key(["read"])
    current = api_client(key).get(f"{BASE}/items/{created['id']}").json()
    updated = next(e for e in receiver.accepted if e["type"] == "item.updated")
    assert updated["data"]["record"] == {**current, "variants": updated["data"]["record"]["variants"]}
    assert updated["data"]["record"]["@odata.etag"] == changed["@odata.etag"]
    assert updated["data"]["entitySet"] == "items" and updated["data"]["company"] == cid
    assert next(e for e in receiver.accepted if e["type"] == "record.deleted")["data"]["record"]["deleted"] is True
    assert len({e["id"] for e in receiver.accepted}) == 3
    assert EventDelivery.objects.filter(subscription=subscription, status="delivered").count() == 3


def test_a_forged_signature_is_refused_by_the_receiver(mirrored, bc, bc_emulator, receiver):
    subscribe(receiver)
    receiver.secret = "whsec_" + "A" * 44  # the receiver holds another secret
    bc_emulator.bc.change(
        str(mirrored.bc_id), "items", records(bc_emulator, str(mirrored.bc_id), "items")[0]["id"], {"unitPrice": 1.5}
    )
    sync_entity_set(bc, mirrored, "items")
    deliver_due()
    assert receiver.forged == ["No matching signature found"] and receiver.accepted == []
    assert EventDelivery.objects.get().status == "pending"  # 400 is retried like any failure


def test_receiver_down_for_a_while_nothing_lost_in_order_per_record(mirrored, bc, bc_emulator, receiver):
    subscribe(receiver, event_types=["item.updated"])
    cid = str(mirrored.bc_id)
    first, second = records(bc_emulator, cid, "items")[:2]
    for price in (1, 2, 3):
        bc_emulator.bc.change(cid, "items", first["id"], {"unitPrice": price})
        if price < 3:
            bc_emulator.bc.change(cid, "items", second["id"], {"unitPrice": price * 10})
        assert sync_entity_set(bc, mirrored, "items").status == "succeeded"
    events = list(Event.objects.order_by("id").values_list("event_id", "data"))
    assert len(events) == 5
    receiver.fail_next = 7
    deliver_all()
    assert len(receiver.refused) == 7
    assert sorted(e["id"] for e in receiver.accepted) == sorted(f"msg_{e.hex}" for e, _ in events)
    prices = {}
    for event in receiver.accepted:
        record = event["data"]["record"]
        prices.setdefault(record["id"], []).append(record["unitPrice"])
    assert prices == {first["id"]: ["1", "2", "3"], second["id"]: ["10", "20"]}
    assert EventAttempt.objects.filter(status=503).count() == 7
    # a retry carries the same webhook-id, so a receiver can drop duplicates (Standard Webhooks)
    assert set(receiver.refused_ids) <= {e["id"] for e in receiver.accepted}


def test_retries_span_more_than_a_day_then_give_up_and_resend(mirrored, bc, bc_emulator, receiver):
    subscribe(receiver, event_types=["item.updated"])
    cid = str(mirrored.bc_id)
    bc_emulator.bc.change(cid, "items", records(bc_emulator, cid, "items")[0]["id"], {"unitPrice": 4})
    sync_entity_set(bc, mirrored, "items")
    receiver.fail_next = 1000
    deliver_all()
    delivery = EventDelivery.objects.get()
    assert delivery.status == EventDeliveryStatus.FAILED
    attempts = list(delivery.log.order_by("id"))
    assert len(attempts) == delivery.attempts == 8
    assert attempts[-1].started_at - attempts[0].started_at >= timedelta(hours=24)
    receiver.fail_next = 0
    assert resend([delivery]) == 1
    deliver_all()
    assert EventDelivery.objects.get().status == EventDeliveryStatus.DELIVERED
    assert len(receiver.accepted) == 1


def test_410_disables_the_subscription(mirrored, bc, bc_emulator, receiver):
    subscription = subscribe(receiver, event_types=["item.updated"])
    cid = str(mirrored.bc_id)
    for item in records(bc_emulator, cid, "items")[:3]:
        bc_emulator.bc.change(cid, "items", item["id"], {"unitPrice": 7})
    sync_entity_set(bc, mirrored, "items")
    receiver.fail_next, receiver.fail_status = 1, 410
    deliver_due()
    subscription.refresh_from_db()
    assert not subscription.enabled and "410" in subscription.disabled_reason
    assert set(EventDelivery.objects.values_list("status", flat=True)) == {EventDeliveryStatus.CANCELLED}
    bc_emulator.bc.change(cid, "items", records(bc_emulator, cid, "items")[0]["id"], {"unitPrice": 8})
    sync_entity_set(bc, mirrored, "items")
    assert EventDelivery.objects.count() == 3  # a disabled subscription gets no new events


def test_order_sent_event(company, bc_emulator, receiver):
    subscribe(receiver, event_types=["order.sent", "order.parked"])
    cid = str(company.bc_id)
    _, key = make_key(["orders"])
    body = {
        "customer": records(bc_emulator, cid, "customers")[0]["number"],
        "lines": [{"item": records(bc_emulator, cid, "items")[0]["number"], "quantity": 1}],
        "external_document_number": "EV-ORDER",
    }
    answer = api_client(key).post(
        f"{BASE}/sales-orders", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="ev"
    )
    assert answer.status_code == 202
    dispatch_until_done()
    deliver_all()
    [event] = receiver.accepted
    message = OutboxMessage.objects.get()
    assert event["type"] == "order.sent"
    assert event["data"]["outbox"]["bcNumber"] == message.bc_number != ""
    assert event["data"]["outbox"]["status"] == "sent"


def test_events_roll_back_with_the_change(mirrored, receiver):
    subscribe(receiver)
    item = Item.objects.filter(company=mirrored).first()

    def failing_page():
        with transaction.atomic():
            record_changes([(record_updated, mirror_for("items"), mirrored, item, {})])
            assert Event.objects.count() == 1
            raise RuntimeError("the page failed")

    with pytest.raises(RuntimeError):
        failing_page()
    assert Event.objects.count() == 0 and EventDelivery.objects.count() == 0
