"""The receiver and the processing of notifications, end to end against the emulator: BC's
notifications (30-s window, coalescing, ``collection``) reach the receiver view in-process,
are stored raw, queued, and processed into the mirror with the sync engine's signals."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from django.test import Client

from bcbridge.emulator import EmulatorConfig
from bcbridge.entities import BC
from bcbridge.models import (
    Customer,
    DeliveryStatus,
    SalesInvoice,
    WebhookDelivery,
    WebhookRejection,
    WebhookSubscription,
)
from bcbridge.signals import record_created, record_deleted, record_updated
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.notifications import parse_resource, process_pending
from bcbridge.sync.webhooks import enable, maintain, receiver_for

from ._webhooks import DjangoTransport

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bc_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(base_url="http://bc.emulator.test", scale=0.2, max_notifications=5,
                          webhook_delivery_interval=0)


@pytest.fixture
def company(company: Any, connection: Any, settings: Any, receiver: DjangoTransport) -> Any:
    """The selected company, subscribed to customers and salesInvoices after a first sync."""
    settings.BCBRIDGE = {**settings.BCBRIDGE, "PUBLIC_URL": "http://testserver"}
    enable(connection, ["customers", "salesInvoices"])
    with BC(connection) as bc:
        for name in ("customers", "salesInvoices"):
            assert sync_entity_set(bc, company, name).status == "succeeded"
    report = maintain(connection)
    assert report.count("created") == 2, report.actions
    return company


@pytest.fixture
def signals() -> Any:
    seen: list[tuple[str, str, str]] = []

    def on(kind: str) -> Any:
        def receiver(sender: Any, entity_set: str, instance: Any, **kwargs: Any) -> None:
            seen.append((kind, entity_set, str(instance.bc_id)))
        return receiver

    handlers = {record_created: on("created"), record_updated: on("updated"), record_deleted: on("deleted")}
    for signal, handler in handlers.items():
        signal.connect(handler)
    yield seen
    for signal, handler in handlers.items():
        signal.disconnect(handler)


def notify(bc_emulator: Any) -> None:
    """Let BC's 30-second window close and send what it collected."""
    bc_emulator.clock.advance(30)
    bc_emulator.control.deliver_notifications()


def customer_keys(bc_emulator: Any, company: Any, n: int) -> list[str]:
    return [r["id"] for _, r in list(bc_emulator.bc.store.iter(str(company.bc_id), "customers"))[:n]]


def test_handshake_on_get_and_post(company: Any) -> None:
    url = f"/bcbridge/webhooks/{receiver_for(company.connection).token}/"
    client = Client()
    for method in (client.get, client.post):
        answer = method(url + "?validationToken=abc%20123")
        assert answer.status_code == 200 and answer.content == b"abc 123"
        assert answer["Content-Type"].startswith("text/plain")
    assert client.post("/bcbridge/webhooks/not-a-token/?validationToken=x").status_code == 400


def test_update_reaches_mirror_through_queue(company: Any, bc_emulator: Any, signals: list, receiver: Any,
                                            emulator_transport: Any) -> None:
    cid = str(company.bc_id)
    key = customer_keys(bc_emulator, company, 1)[0]
    bc_emulator.bc.change(cid, "customers", key, {"city": "Oslo"})
    created = bc_emulator.bc.create(cid, "customers", {"displayName": "Webhook Bikes"})
    calls = sum(emulator_transport.counts.values())
    notify(bc_emulator)
    assert sum(emulator_transport.counts.values()) == calls  # the receiver never calls BC
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RECEIVED and delivery.notifications == 2
    assert delivery.remote_addr == "127.0.0.1" and delivery.headers["Content-Type"] == "application/json"
    sub = WebhookSubscription.objects.get(entity_set="customers")
    assert "clientState" not in orjson.loads(delivery.body)["value"][0]  # the secret is not stored
    assert sub.client_state and sub.client_state not in delivery.body
    assert Customer.objects.get(bc_id=key).city != "Oslo"  # processing is queued, not inline
    assert process_pending().processed == 1
    assert Customer.objects.get(bc_id=key).city == "Oslo"
    assert Customer.objects.get(bc_id=created["id"]).display_name == "Webhook Bikes"
    assert sorted(signals) == sorted([("updated", "customers", key), ("created", "customers", created["id"])])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED and delivery.processed_at is not None
    assert receiver.statuses[-1] == 202


def test_delete_soft_deletes(company: Any, bc_emulator: Any, signals: list) -> None:
    key = customer_keys(bc_emulator, company, 2)[1]
    bc_emulator.bc.delete(str(company.bc_id), "customers", key)
    notify(bc_emulator)
    process_pending()
    assert not Customer.objects.filter(bc_id=key).exists()
    assert Customer.all_objects.get(bc_id=key).deleted
    assert signals == [("deleted", "customers", key)]


def test_line_change_refreshes_the_document(company: Any, bc_emulator: Any) -> None:
    cid = str(company.bc_id)
    invoice = SalesInvoice.objects.filter(company=company, lines__isnull=False).first()
    line = invoice.lines.first()
    bc_emulator.bc.change(cid, "salesInvoiceLines", str(line.bc_id), {"quantity": 42})
    notify(bc_emulator)
    process_pending()
    line.refresh_from_db()
    assert line.quantity == 42
    invoice_now = SalesInvoice.objects.get(pk=invoice.pk)
    assert invoice_now.etag != invoice.etag


def test_collection_runs_an_incremental_pull(company: Any, bc_emulator: Any) -> None:
    cid = str(company.bc_id)
    keys = customer_keys(bc_emulator, company, 7)  # more than max_notifications=5
    for key in keys:
        bc_emulator.bc.change(cid, "customers", key, {"city": "Collection City"})
    notify(bc_emulator)
    body = orjson.loads(WebhookDelivery.objects.get().body)
    assert [n["changeType"] for n in body["value"]] == ["collection"]
    assert process_pending().processed == 1
    assert Customer.objects.filter(bc_id__in=keys, city="Collection City").count() == 7


def test_forged_and_malformed_deliveries_are_counted_not_stored_and_answered_400(
    company: Any, bc_emulator: Any
) -> None:
    url = f"/bcbridge/webhooks/{receiver_for(company.connection).token}/"
    sub = WebhookSubscription.objects.filter(entity_set="customers").get()
    key = customer_keys(bc_emulator, company, 1)[0]
    forged = {"value": [{"subscriptionId": sub.subscription_id, "clientState": "guess", "changeType": "deleted",
                         "resource": f"api/v2.0/companies({company.bc_id})/customers({key})",
                         "lastModifiedDateTime": "2030-01-01T00:00:00Z"}]}
    client = Client()
    answers = [
        client.post(url, forged, content_type="application/json"),
        client.post(url, b"{not json", content_type="application/json"),
        client.post(url, {"value": [{"changeType": "updated"}]}, content_type="application/json"),
        client.post("/bcbridge/webhooks/unknown-token/", forged, content_type="application/json"),
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert WebhookDelivery.objects.count() == 0
    counts = dict(WebhookRejection.objects.values_list("reason", "count"))
    assert counts == {"client-state": 1, "not-json": 1, "shape": 1, "unknown-token": 1}
    assert process_pending().processed == 0
    assert Customer.objects.filter(bc_id=key).exists()


def test_duplicate_and_late_notifications_change_nothing(company: Any, bc_emulator: Any, signals: list,
                                                         emulator_transport: Any) -> None:
    cid = str(company.bc_id)
    key = customer_keys(bc_emulator, company, 1)[0]
    bc_emulator.bc.change(cid, "customers", key, {"city": "First"})
    notify(bc_emulator)
    old_body = WebhookDelivery.objects.get().body
    bc_emulator.bc.change(cid, "customers", key, {"city": "Second"})
    notify(bc_emulator)
    new_body = WebhookDelivery.objects.order_by("-pk").first().body
    process_pending()  # the first delivery reads the record as BC has it now: Second
    assert Customer.objects.get(bc_id=key).city == "Second"
    signals.clear()
    reads = emulator_transport.count(f"/customers({key})")
    url = f"/bcbridge/webhooks/{receiver_for(company.connection).token}/"
    secret = WebhookSubscription.objects.get(entity_set="customers").client_state
    for body in (old_body, new_body, new_body):  # late, then twice the newest (as BC sent them)
        sent = orjson.loads(body)
        for n in sent["value"]:
            n["clientState"] = secret
        assert Client().post(url, sent, content_type="application/json").status_code == 202
    report = process_pending()
    assert report.processed == 3 and report.skipped == 1 and report.fetched == 0  # merged: one key
    assert emulator_transport.count(f"/customers({key})") == reads  # not even read again
    assert Customer.objects.get(bc_id=key).city == "Second" and signals == []


def test_notification_for_a_record_gone_since(company: Any, bc_emulator: Any) -> None:
    cid = str(company.bc_id)
    key = customer_keys(bc_emulator, company, 1)[0]
    bc_emulator.bc.change(cid, "customers", key, {"city": "Soon gone"})
    notify(bc_emulator)
    bc_emulator.bc.delete(cid, "customers", key)  # gone before processing; not yet notified
    process_pending()
    assert Customer.all_objects.get(bc_id=key).deleted


def test_parse_resource() -> None:
    cid, key = str(uuid.uuid4()), str(uuid.uuid4())
    assert parse_resource(f"api/v2.0/companies({cid})/items({key})") == ("", cid, "items", key)
    assert parse_resource(f"/api/v2.0/companies({cid})/salesInvoices?$filter=lastDateTimeModified%20gt%202018")[2] \
        == "salesInvoices"
    assert parse_resource(f"api/contoso/warehouse/v1.0/companies({cid})/warehouseShipments({key})")[0] \
        == "contoso/warehouse/v1.0"
    with pytest.raises(ValueError, match="not a BC resource"):
        parse_resource("https://evil.test/x")
