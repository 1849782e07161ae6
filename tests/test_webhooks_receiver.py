"""The receiver authenticates before it stores, and processing trusts BC, not the request
(issue #16 items 3, 4, 8 and 9): oversized and forged requests are counted, not stored; a
``deleted`` notification is confirmed with BC; a resource on another host, tenant or
environment is refused; lifecycle notifications are not answered 400; deliveries are
pruned."""

# ruff: noqa: F811 (the fixtures of test_webhooks_processing are imported and used by name)

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bcbridge.models import (
    Customer,
    DeliveryStatus,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookRejection,
    WebhookSubscription,
    prune_deliveries,
)
from bcbridge.sync.notifications import process_pending
from bcbridge.sync.webhooks import receiver_for
from tests.test_webhooks_processing import bc_emulator_config, company, customer_keys, notify  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _url(company: Any) -> str:
    return f"/bcbridge/webhooks/{receiver_for(company.connection).token}/"


def _notification(company: Any, key: str, change: str = "updated", **extra: Any) -> dict[str, Any]:
    sub = WebhookSubscription.objects.get(entity_set="customers")
    return {
        "subscriptionId": sub.subscription_id,
        "clientState": sub.client_state,
        "resource": f"api/v2.0/companies({company.bc_id})/customers({key})",
        "changeType": change,
        "lastModifiedDateTime": "2030-01-01T00:00:00Z",
        **extra,
    }


def test_a_body_over_the_limit_is_refused_unread(company: Any, settings: Any) -> None:
    settings.BCBRIDGE = {**settings.BCBRIDGE, "WEBHOOK_MAX_BODY": 4096}
    padding = {"value": [{"subscriptionId": "x", "changeType": "updated", "resource": "r" * 8000}]}
    answer = Client().post(_url(company), padding, content_type="application/json")
    assert answer.status_code == 400
    assert WebhookDelivery.objects.count() == 0
    assert WebhookRejection.objects.get().reason == "too-large"


def test_anonymous_posts_to_random_tokens_store_nothing(company: Any) -> None:
    client = Client()
    for i in range(5):
        answer = client.post(f"/bcbridge/webhooks/random-{i}/", b"x" * 10000, content_type="application/json")
        assert answer.status_code == 400
    assert WebhookDelivery.objects.count() == 0
    assert WebhookRejection.objects.get(reason="unknown-token").count == 5


def test_a_forged_delete_with_a_valid_client_state_deletes_nothing(company: Any, bc_emulator: Any) -> None:
    """BC's notification is only a pointer (docs/bc/6-webhooks.md §6.4): the record is still in BC, so
    the mirror keeps it."""
    key = customer_keys(bc_emulator, company, 1)[0]
    body = {"value": [_notification(company, key, "deleted")]}
    assert Client().post(_url(company), body, content_type="application/json").status_code == 202
    assert process_pending().processed == 1
    assert Customer.objects.filter(bc_id=key, deleted=False).exists()


def test_a_real_delete_is_confirmed_by_404(company: Any, bc_emulator: Any) -> None:
    key = customer_keys(bc_emulator, company, 1)[0]
    bc_emulator.bc.delete(str(company.bc_id), "customers", key)
    body = {"value": [_notification(company, key, "deleted")]}
    assert Client().post(_url(company), body, content_type="application/json").status_code == 202
    process_pending()
    assert Customer.all_objects.get(bc_id=key).deleted


@pytest.mark.parametrize(
    "prefix",
    [
        "https://evil.example.com/v2.0/{tenant}/{environment}/",
        "http://bc.emulator.test/v2.0/other-tenant/{environment}/",
        "http://bc.emulator.test/v2.0/{tenant}/other-environment/",
        "v2.0/other-tenant/{environment}/",
    ],
)
def test_a_resource_of_another_host_tenant_or_environment_is_refused(
    company: Any, bc_emulator: Any, prefix: str
) -> None:
    config = bc_emulator.config
    key = customer_keys(bc_emulator, company, 1)[0]
    note = _notification(company, key, "deleted")
    note["resource"] = prefix.format(tenant=config.tenant, environment=config.environment) + note["resource"]
    bc_emulator.bc.delete(str(company.bc_id), "customers", key)
    assert Client().post(_url(company), {"value": [note]}, content_type="application/json").status_code == 202
    report = process_pending()
    assert report.failed + report.retried == 1
    assert "is not that of subscription" in WebhookDelivery.objects.get().error
    assert Customer.objects.filter(bc_id=key, deleted=False).exists()


def test_a_resource_with_the_connections_own_root_is_accepted(company: Any, bc_emulator: Any) -> None:
    config = bc_emulator.config
    key = customer_keys(bc_emulator, company, 1)[0]
    bc_emulator.bc.change(str(company.bc_id), "customers", key, {"city": "Rooted"})
    note = _notification(company, key)
    note["resource"] = f"{config.base_url}/v2.0/{config.tenant}/{config.environment}/" + note["resource"]
    assert Client().post(_url(company), {"value": [note]}, content_type="application/json").status_code == 202
    assert process_pending().processed == 1
    assert Customer.objects.get(bc_id=key).city == "Rooted"


@pytest.mark.unverified  # BC's documents are silent on lifecycle notifications; Graph's shape
def test_lifecycle_notifications_are_accepted_not_400(company: Any) -> None:
    sub = WebhookSubscription.objects.get(entity_set="customers")
    note = {
        "subscriptionId": sub.subscription_id,
        "clientState": sub.client_state,
        "lifecycleEvent": "subscriptionRemoved",
    }
    assert Client().post(_url(company), {"value": [note]}, content_type="application/json").status_code == 202
    assert process_pending().processed == 1
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.LOST  # recreated by the next maintenance pass


def test_retention_prunes_settled_deliveries_only(company: Any, bc_emulator: Any) -> None:
    key = customer_keys(bc_emulator, company, 1)[0]
    for _ in range(2):
        body = {"value": [_notification(company, key)]}
        assert Client().post(_url(company), body, content_type="application/json").status_code == 202
    old = timezone.now() - timedelta(days=30)
    first, second = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.PROCESSED, received_at=old)
    WebhookDelivery.objects.filter(pk=second.pk).update(received_at=old)  # still queued: kept
    assert prune_deliveries(days=14) == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [second.pk]
