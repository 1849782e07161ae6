"""The outbox admin (status, attempts, errors, retry now, cancel) and ``bcbridge push``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from bcbridge.models import FieldMapping, OutboxMessage, OutboxStatus
from bcbridge.push import enqueue, sales_order
from tests._push import first_company, records


@pytest.fixture
def admin_client_logged(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "a@example.com", "pw")
    client.force_login(user)
    return client


def test_push_command_drains_and_exits_1_when_parked(connection, bc_emulator, capsys):
    cid = first_company(connection)
    customer = records(bc_emulator, cid, "customers")[0]
    item = next(r for r in records(bc_emulator, cid, "items") if r.get("type") == "Inventory")
    sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="CLI-1",
        lines=[{"item": item["number"], "quantity": 1}],
    )
    call_command("push")
    out = capsys.readouterr().out
    assert "sent" in out and "outbox: pending 0" in out
    sales_order(
        connection,
        cid,
        customer=customer["number"],
        external_document_number="CLI-2",
        lines=[{"item": "NOPE", "quantity": 1}],
    )
    with pytest.raises(SystemExit) as exit_info:
        call_command("push", "--batch")
    assert exit_info.value.code == 1
    assert "NOPE" in capsys.readouterr().out


def test_admin_lists_and_acts(connection, bc_emulator, admin_client_logged):
    cid = first_company(connection)
    parked = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "p"})
    pending = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "q"})
    OutboxMessage.objects.filter(pk=parked.pk).update(
        status=OutboxStatus.PARKED, last_error="Customer Posting Group must have a value"
    )
    url = reverse("admin:bcbridge_outboxmessage_changelist")
    page = admin_client_logged.get(url)
    assert page.status_code == 200 and b"Customer Posting Group must have a value" in page.content
    admin_client_logged.post(url, {"action": "retry_selected", "_selected_action": [parked.pk]})
    parked.refresh_from_db()
    assert parked.status == OutboxStatus.PENDING
    admin_client_logged.post(url, {"action": "cancel_selected", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.status == OutboxStatus.CANCELLED
    assert admin_client_logged.get(reverse("admin:bcbridge_outboxmessage_change", args=[parked.pk])).status_code == 200


def test_field_mapping_admin_checks_the_bc_field(admin_client_logged, db):
    url = reverse("admin:bcbridge_fieldmapping_add")
    answer = admin_client_logged.post(
        url,
        {
            "target": "salesOrders",
            "bc_field": "noSuchField",
            "source_path": "x",
            "transform": "",
            "position": 0,
            "enabled": "on",
        },
    )
    assert answer.status_code == 200 and b"has no field" in answer.content
    answer = admin_client_logged.post(
        url,
        {
            "target": "salesOrders",
            "bc_field": "number",
            "source_path": "x",
            "transform": "",
            "position": 0,
            "enabled": "on",
        },
    )
    assert b"read-only" in answer.content
    admin_client_logged.post(
        url,
        {
            "target": "salesOrders",
            "bc_field": "requestedDeliveryDate",
            "source_path": "delivery.date",
            "transform": "date",
            "position": 0,
            "enabled": "on",
        },
    )
    assert FieldMapping.objects.filter(bc_field="requestedDeliveryDate").exists()
    assert admin_client_logged.get(reverse("admin:bcbridge_externalidmap_changelist")).status_code == 200
