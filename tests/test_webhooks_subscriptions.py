"""The subscription manager against the emulator: subscribe with the handshake, renew before
expiry, recreate what BC let expire or deleted and catch up, unsubscribe when a set or the
connection is disabled or removed; the ``bcbridge webhooks`` command and the admin pages."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bcbridge.emulator import EmulatorConfig
from bcbridge.entities import BC
from bcbridge.models import (
    Customer,
    DeliveryStatus,
    SubscriptionStatus,
    SyncConfig,
    WebhookDelivery,
    WebhookSubscription,
)
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.notifications import process_pending
from bcbridge.sync.webhooks import enable, maintain, notification_url, receiver_for, unsubscribe

from ._webhooks import DjangoTransport

pytestmark = pytest.mark.django_db(transaction=True)
DAY = 24 * 3600


@pytest.fixture
def bc_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(base_url="http://bc.emulator.test", scale=0.2, webhook_delivery_interval=0)


@pytest.fixture
def company(company: Any, settings: Any, receiver: DjangoTransport) -> Any:
    """The selected company, with this site as the webhook receiver."""
    settings.BCBRIDGE = {**settings.BCBRIDGE, "PUBLIC_URL": "http://testserver"}
    return company


def bc_subscriptions(bc_emulator: Any) -> list[dict[str, Any]]:
    return bc_emulator.control.webhooks()["subscriptions"]  # type: ignore[no-any-return]


def test_subscribe_runs_the_handshake_and_stores_the_secret(company: Any, bc_emulator: Any,
                                                            receiver: DjangoTransport) -> None:
    enable(company.connection, ["customers", "items"])
    report = maintain(company.connection)
    assert report.count("created") == 2 and report.ok
    assert receiver.statuses == [200, 200]  # the two handshakes, answered by the view
    in_bc = {s["subscriptionId"]: s for s in bc_subscriptions(bc_emulator)}
    url = notification_url(company.connection)
    assert url == f"http://testserver/bcbridge/webhooks/{receiver_for(company.connection).token}/"
    for sub in WebhookSubscription.objects.all():
        assert sub.status == SubscriptionStatus.ACTIVE and sub.subscription_id in in_bc
        assert in_bc[sub.subscription_id]["clientState"] == sub.client_state and len(sub.client_state) >= 40
        assert in_bc[sub.subscription_id]["notificationUrl"] == url
        assert sub.resource == f"/api/v2.0/companies({company.bc_id})/{sub.entity_set}"
    raw = WebhookSubscription.objects.values_list("client_state", flat=True).query
    assert "client_state" in str(raw)  # stored encrypted: the column never holds the secret
    assert maintain(company.connection).count("kept") == 2  # idempotent


def test_sets_bc_does_not_notify_about_are_refused(company: Any) -> None:
    from bcbridge.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="no webhook notifications"):
        enable(company.connection, ["salesShipments"])


def test_renews_well_before_expiry(company: Any, bc_emulator: Any) -> None:
    enable(company.connection, ["customers"])
    maintain(company.connection)
    sub = WebhookSubscription.objects.get()
    first_expiry, first_etag = sub.expiration_date_time, sub.etag
    bc_emulator.clock.advance(1.5 * DAY)
    assert maintain(company.connection, now=timezone.now() + timedelta(days=1.5)).count("kept") == 1
    bc_emulator.clock.advance(0.6 * DAY)  # 2.1 days old: less than a day left
    report = maintain(company.connection, now=timezone.now() + timedelta(days=2.1))
    assert report.count("renewed") == 1, report.actions
    sub.refresh_from_db()
    assert sub.expiration_date_time > first_expiry + timedelta(days=2) and sub.etag != first_etag
    [in_bc] = bc_subscriptions(bc_emulator)
    assert in_bc["subscriptionId"] == sub.subscription_id


def test_expired_subscription_is_recreated_and_caught_up(company: Any, bc_emulator: Any) -> None:
    enable(company.connection, ["customers"])
    with BC(company.connection) as bc:
        sync_entity_set(bc, company, "customers")
    maintain(company.connection)
    old_id = WebhookSubscription.objects.get().subscription_id
    bc_emulator.clock.advance(3 * DAY + 60)  # nobody renewed it: BC lets it expire
    cid = str(company.bc_id)
    created = bc_emulator.bc.create(cid, "customers", {"displayName": "While nobody listened"})
    assert bc_subscriptions(bc_emulator) == []
    report = maintain(company.connection)
    assert report.count("recreated") == 1 and report.count("caught up") == 2, report.actions
    sub = WebhookSubscription.objects.get()
    assert sub.subscription_id != old_id and sub.status == SubscriptionStatus.ACTIVE and sub.caught_up_at
    assert Customer.objects.filter(bc_id=created["id"]).exists()


def test_receiver_down_until_bc_deletes_then_recreated_with_nothing_missed(
    company: Any, bc_emulator: Any, receiver: DjangoTransport
) -> None:
    connection, cid = company.connection, str(company.bc_id)
    enable(connection, ["customers"])
    with BC(connection) as bc:
        sync_entity_set(bc, company, "customers")
    maintain(connection)
    keys = [r["id"] for _, r in list(bc_emulator.bc.store.iter(cid, "customers"))[:3]]
    receiver.down = True
    bc_emulator.bc.change(cid, "customers", keys[0], {"city": "Changed while down"})
    bc_emulator.bc.delete(cid, "customers", keys[1])
    created = bc_emulator.bc.create(cid, "customers", {"displayName": "Created while down"})
    for _ in range(38):  # BC retries for 36 hours, then deletes the subscription
        bc_emulator.clock.advance(3600)
        bc_emulator.control.deliver_notifications()
    assert bc_subscriptions(bc_emulator) == []
    assert bc_emulator.control.webhooks()["deliveries"][-1]["outcome"] == "subscription deleted"
    receiver.down = False
    report = maintain(connection)
    assert report.count("recreated") == 1, report.actions
    assert Customer.objects.get(bc_id=keys[0]).city == "Changed while down"
    assert Customer.all_objects.get(bc_id=keys[1]).deleted
    assert Customer.objects.filter(bc_id=created["id"]).exists()
    with BC(connection) as bc:
        in_bc = {r["id"]: r["@odata.etag"] for r in bc.company(cid).customers.list()}
    mirrored = {str(c.bc_id): c.etag for c in Customer.objects.filter(company=company)}
    assert mirrored == in_bc
    # and the new subscription delivers again
    bc_emulator.bc.change(cid, "customers", keys[2], {"city": "Live again"})
    bc_emulator.control.flush_notifications()
    assert process_pending().processed == 1
    assert Customer.objects.get(bc_id=keys[2]).city == "Live again"


def test_unsubscribe_when_set_or_connection_disabled_or_removed(company: Any, bc_emulator: Any) -> None:
    connection = company.connection
    enable(connection, ["customers", "items"])
    maintain(connection)
    assert len(bc_subscriptions(bc_emulator)) == 2
    SyncConfig.objects.filter(connection=connection, entity_set="items").update(enabled=False)
    assert maintain(connection).count("deleted") == 1
    assert [s["resource"].rsplit("/", 1)[1] for s in bc_subscriptions(bc_emulator)] == ["customers"]
    connection.enabled = False
    connection.save()
    assert maintain(connection).count("deleted") == 1
    assert bc_subscriptions(bc_emulator) == [] and not WebhookSubscription.objects.exists()
    connection.enabled = True
    connection.save()
    maintain(connection)
    assert len(bc_subscriptions(bc_emulator)) == 1
    connection.delete()
    assert bc_subscriptions(bc_emulator) == []


def test_unsubscribe_named_sets_goes_back_to_polling(company: Any, bc_emulator: Any) -> None:
    enable(company.connection, ["customers"])
    maintain(company.connection)
    assert unsubscribe(company.connection, ["customers"]).count("deleted") == 1
    assert SyncConfig.objects.get(entity_set="customers", company__isnull=True).mode == "poll"
    assert maintain(company.connection).actions == [] and bc_subscriptions(bc_emulator) == []


def test_command(company: Any, bc_emulator: Any) -> None:
    out = StringIO()
    call_command("webhooks", "subscribe", "customers", "--connection", company.connection.name,
                 "--notification-url-base", "http://testserver", stdout=out)
    assert "created" in out.getvalue()
    call_command("webhooks", "list", stdout=out)
    assert "active" in out.getvalue()
    call_command("webhooks", "renew", "--force", stdout=out)
    assert "renewed" in out.getvalue()
    call_command("webhooks", "unsubscribe", stdout=out)
    assert bc_subscriptions(bc_emulator) == []


def test_admin_pages_and_reprocess(company: Any, bc_emulator: Any, admin_user: Any) -> None:
    enable(company.connection, ["customers"])
    maintain(company.connection)
    cid = str(company.bc_id)
    key = next(bc_emulator.bc.store.iter(cid, "customers"))[1]["id"]
    bc_emulator.bc.change(cid, "customers", key, {"city": "Admin City"})
    bc_emulator.control.flush_notifications()
    delivery = WebhookDelivery.objects.get()
    client = Client()
    client.force_login(admin_user)
    for url in ("/admin/bcbridge/webhooksubscription/", "/admin/bcbridge/webhookdelivery/",
                f"/admin/bcbridge/webhookdelivery/{delivery.pk}/change/"):
        answer = client.get(url)
        assert answer.status_code == 200, url
    assert b"Admin City" not in answer.content and b"changeType" in answer.content
    answer = client.post("/admin/bcbridge/webhookdelivery/", {
        "action": "reprocess_selected", "_selected_action": [delivery.pk]}, follow=True)
    assert b"1 processed" in answer.content
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Customer.objects.get(bc_id=key).city == "Admin City"


def test_runner_jobs_keep_subscriptions_and_process_deliveries(company: Any, bc_emulator: Any) -> None:
    from bcbridge import runner

    jobs = runner.jobs()
    enable(company.connection, ["customers"])
    assert jobs["webhooks"].func("test-runner") == 1  # one action: created
    cid = str(company.bc_id)
    key = next(bc_emulator.bc.store.iter(cid, "customers"))[1]["id"]
    bc_emulator.bc.change(cid, "customers", key, {"city": "Runner City"})
    bc_emulator.control.flush_notifications()
    assert jobs["webhook-deliveries"].func("test-runner") == 1
    assert Customer.objects.get(bc_id=key).city == "Runner City"
