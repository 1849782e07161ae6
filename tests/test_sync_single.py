"""Sync one record from BC by number, id or external id (issue 14, item 3).

What BC holds is read through BC's own API in each test (``GET items?$filter=number eq``),
never from the mirror; a changed record is changed the way a BC user would (the emulator
applies it like a page edit: new ETag and ``lastModifiedDateTime``, docs/bc/4-concurrency.md §4), and a
record BC deleted answers 404 on its key (docs/bc/1-identity.md §1).
"""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bcbridge.models import ExternalIdMap, Item, ItemVariant, SalesOrder, SyncRun, SyncState
from bcbridge.odata import F
from bcbridge.sync.single import RecordNotFound, sync_record

pytestmark = pytest.mark.django_db


def _an_item_with_variants(bc, company):
    scope = bc.company(str(company.bc_id))
    for item in scope.items.list(expand=["itemVariants"], page_size=200):
        if item.get("itemVariants"):
            return item
    pytest.skip("the emulator's data has no item with variants")


def test_by_number_creates_the_record_with_its_children(bc, company):
    item = _an_item_with_variants(bc, company)
    result = sync_record(bc, company, "items", number=item["number"])
    assert result.outcome == "created"
    stored = Item.objects.get(company=company, bc_id=item["id"])
    assert stored.number == item["number"] and stored.display_name == item["displayName"]
    variants = {str(v.bc_id) for v in ItemVariant.objects.filter(parent=stored)}
    assert variants == {v["id"] for v in item["itemVariants"]}
    assert result.children == len(item["itemVariants"])
    # one record read out of order moves no watermark and records no sync run
    assert not SyncState.objects.filter(entity_set="items").exclude(watermark=None).exists()
    assert not SyncRun.objects.exists()


def test_again_unchanged_then_updated_with_the_changed_fields(bc, company, bc_emulator):
    item = _an_item_with_variants(bc, company)
    sync_record(bc, company, "items", bc_id=item["id"])
    assert sync_record(bc, company, "items", bc_id=item["id"]).outcome == "unchanged"
    new_price = round(float(item["unitPrice"]) + 11.5, 2)
    bc_emulator.bc.change(str(company.bc_id), "items", item["id"], {"unitPrice": new_price})
    result = sync_record(bc, company, "items", number=item["number"])
    assert result.outcome == "updated"
    assert "unitPrice" in result.changed and "lastModifiedDateTime" in result.changed
    assert "displayName" not in result.changed
    assert float(Item.objects.get(bc_id=item["id"]).unit_price) == new_price


def test_a_record_bc_deleted_is_soft_deleted(bc, company, bc_emulator):
    scope = bc.company(str(company.bc_id))
    customer = next(iter(scope.customers.list(page_size=5)))
    sync_record(bc, company, "customers", bc_id=customer["id"])
    bc_emulator.bc.delete(str(company.bc_id), "customers", customer["id"])
    assert sync_record(bc, company, "customers", bc_id=customer["id"]).outcome == "deleted"
    from bcbridge.models import Customer

    assert Customer.all_objects.get(bc_id=customer["id"]).deleted


def test_by_external_id_from_the_map_and_the_document_field(bc, company):
    scope = bc.company(str(company.bc_id))
    order = next(iter(scope.salesOrders.list(page_size=5)))
    ExternalIdMap.objects.create(
        connection=company.connection,
        company_id=str(company.bc_id),
        system="shop",
        entity_set="salesOrders",
        external_id="SHOP-42",
        bc_id=order["id"],
    )
    assert sync_record(bc, company, "salesOrders", external_id="SHOP-42").outcome == "created"
    assert SalesOrder.objects.filter(bc_id=order["id"]).exists()
    with_external = list(scope.salesOrders.list(filter=F("externalDocumentNumber") != "", page_size=5))
    if with_external:
        other = with_external[0]
        result = sync_record(bc, company, "salesOrders", external_id=other["externalDocumentNumber"])
        assert str(result.bc_id) == other["id"]


def test_unknown_number_and_id_say_so(bc, company):
    with pytest.raises(RecordNotFound, match="no items record with number 'NO-SUCH-ITEM'"):
        sync_record(bc, company, "items", number="NO-SUCH-ITEM")
    with pytest.raises(RecordNotFound, match="Neither BC nor the mirror"):
        sync_record(bc, company, "items", bc_id=uuid.uuid4())
    assert not Item.all_objects.exists()


def test_the_command_reports_what_changed(bc, company, capsys):
    item = next(iter(bc.company(str(company.bc_id)).items.list(page_size=5)))
    call_command("sync", "items", "--number", item["number"], "--connection", company.connection.name)
    out = capsys.readouterr().out
    assert f"items {item['number']}: created" in out
    with pytest.raises(CommandError, match="BC has no items record"):
        call_command("sync", "items", "--number", "NO-SUCH-ITEM")


def test_the_admin_action_syncs_the_chosen_records(bc, company, bc_emulator, admin_client):
    from django.urls import reverse

    item = next(iter(bc.company(str(company.bc_id)).items.list(page_size=5)))
    sync_record(bc, company, "items", bc_id=item["id"])
    bc_emulator.bc.change(str(company.bc_id), "items", item["id"], {"displayName": "Renamed in BC"})
    stored = Item.objects.get(bc_id=item["id"])
    response = admin_client.post(
        reverse("admin:bcbridge_item_changelist"),
        {"action": "sync_from_bc", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("updated" in m and "displayName" in m for m in messages), messages
    stored.refresh_from_db()
    assert stored.display_name == "Renamed in BC"
