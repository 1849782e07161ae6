"""The admin of mirrored data and sync: read-only pages, pretty raw payload, "Sync now"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bcbridge.models import MirrorRecord, SalesInvoice, SyncConfig, SyncRun
from bcbridge.sync.companies import load_companies
from bcbridge.sync.engine import ensure_default_configs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def company(connection, bc_emulator):
    first = bc_emulator.bc.companies()[0]
    load_companies(connection, select=[first["id"]])
    return connection.companies.get(bc_id=first["id"])


def test_sync_now_action_then_read_only_mirror_pages(admin_client, connection, company):
    ensure_default_configs(connection)
    config = SyncConfig.objects.get(connection=connection, entity_set="salesInvoices")
    response = admin_client.post(
        reverse("admin:bcbridge_syncconfig_changelist"),
        {"action": "sync_now", "_selected_action": [config.pk]},
        follow=True,
    )
    assert "salesInvoices of" in response.content.decode() and "succeeded" in response.content.decode()
    run = SyncRun.objects.get(entity_set="salesInvoices")
    assert run.status == SyncRun.Status.SUCCEEDED and run.created > 0

    invoice = SalesInvoice.objects.filter(company=company).first()
    changelist = admin_client.get(reverse("admin:bcbridge_salesinvoice_changelist"), {"q": invoice.number})
    assert changelist.status_code == 200
    assert invoice.number in changelist.content.decode() and "1 result" in changelist.content.decode()
    page = admin_client.get(reverse("admin:bcbridge_salesinvoice_change", args=[invoice.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Raw payload" in html and "&quot;@odata.etag&quot;: " in html  # indented JSON, escaped
    assert invoice.lines.first().description in html  # the lines inline
    assert 'name="_save"' not in html  # view only
    assert admin_client.get(reverse("admin:bcbridge_salesinvoice_add")).status_code == 403

    runs = admin_client.get(reverse("admin:bcbridge_syncrun_changelist"))
    assert runs.status_code == 200 and "salesInvoices" in runs.content.decode()
    assert admin_client.get(reverse("admin:bcbridge_syncstate_changelist")).status_code == 200


def test_reconcile_action_and_generic_records_page(admin_client, connection, company):
    config = SyncConfig.objects.create(connection=connection, entity_set="currencies")
    admin_client.post(
        reverse("admin:bcbridge_syncconfig_changelist"), {"action": "sync_now", "_selected_action": [config.pk]}
    )
    assert MirrorRecord.objects.filter(entity_set="currencies").exists()
    response = admin_client.post(
        reverse("admin:bcbridge_syncconfig_changelist"),
        {"action": "reconcile_now", "_selected_action": [config.pk]},
        follow=True,
    )
    assert "0 missing, 0 extra, 0 stale" in response.content.decode()
    page = admin_client.get(reverse("admin:bcbridge_mirrorrecord_changelist"), {"entity_set": "currencies"})
    assert page.status_code == 200 and "currencies" in page.content.decode()
