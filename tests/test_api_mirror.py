"""REST API reads against a mirror filled by a real sync from the emulator: values equal what
BC's API returns, cursor pages, ETags, modified_since, tombstones, fields and expand."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set

from ._api import BASE, all_pages, api_client, bc_list, make_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(bc, company):
    for entity_set in ("items", "customers", "salesInvoices", "currencies"):
        run = sync_entity_set(bc, company, entity_set, page_size=200)
        assert run.status == "succeeded", run.error
    return company


@pytest.fixture
def reader(synced):
    _, key = make_key(["read"])
    return api_client(key)


def test_items_equal_bc_across_cursor_pages(reader, synced):
    bc_items = {r["id"]: r for r in bc_list(synced, "items")}
    records = all_pages(reader, "/items", limit=37)
    assert len(records) == len(bc_items) == len({r["id"] for r in records})
    for record in records:
        source = bc_items[record["id"]]
        for name in ("number", "displayName", "itemCategoryCode", "baseUnitOfMeasureCode", "@odata.etag"):
            assert record[name] == source[name], name
        # amounts keep BC's value exactly: the decimal text equals BC's JSON number
        assert Decimal(record["unitPrice"]) == Decimal(str(source["unitPrice"]))
        assert Decimal(record["inventory"]) == Decimal(str(source["inventory"]))
        assert record["lastModifiedDateTime"].endswith("Z")
        assert record["deleted"] is False


def test_expand_variants_matches_bc_item_variants(reader, synced):
    variants = bc_list(synced, "itemVariants")
    by_item: dict[str, set[str]] = {}
    for variant in variants:
        by_item.setdefault(variant["itemId"], set()).add(variant["code"])
    records = all_pages(reader, "/items", limit=500, expand="variants")
    assert {r["id"]: {v["code"] for v in r["variants"]} for r in records if r["variants"]} == by_item
    one = next(r for r in records if r["variants"])
    assert {v["code"] for v in reader.get(f"{BASE}/items/{one['id']}").json()["variants"]} == by_item[one["id"]]


def test_invoice_with_lines_equals_bc(reader, synced):
    invoice = bc_list(synced, "salesInvoices", expand=["salesInvoiceLines"])[0]
    answer = reader.get(f"{BASE}/sales-invoices/{invoice['id']}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["number"] == invoice["number"]
    assert Decimal(body["totalAmountIncludingTax"]) == Decimal(str(invoice["totalAmountIncludingTax"]))
    assert sorted((line["id"], Decimal(line["quantity"])) for line in body["lines"]) == sorted(
        (line["id"], Decimal(str(line["quantity"]))) for line in invoice["salesInvoiceLines"]
    )


def test_number_search_fields_and_ordering(reader, synced):
    bc_items = bc_list(synced, "items")
    target = bc_items[3]
    body = reader.get(f"{BASE}/items", {"number": target["number"]}).json()
    assert [r["id"] for r in body["value"]] == [target["id"]]
    word = target["displayName"].split()[0].lower()
    found = all_pages(reader, "/items", search=word, limit=1000)
    assert {r["id"] for r in found} == {r["id"] for r in bc_items if word in r["displayName"].lower()}
    slim = reader.get(f"{BASE}/items", {"fields": "number,unitPrice", "limit": 5}).json()["value"]
    assert all(set(r) == {"id", "number", "unitPrice"} for r in slim)
    ordered = all_pages(reader, "/items", orderby="-number", limit=50)
    assert [r["number"] for r in ordered] == sorted((r["number"] for r in bc_items), reverse=True)


def test_cursor_is_stable_while_bc_adds_items(reader, synced, bc, bc_emulator):
    first = reader.get(f"{BASE}/items", {"limit": 40, "orderby": "number"}).json()
    cid = str(synced.bc_id)
    created = bc_emulator.bc.create(cid, "items", {"number": "0000-NEW", "displayName": "Inserted before the cursor"})
    assert sync_entity_set(bc, synced, "items").status == "succeeded"
    rest = all_pages(reader, "/items", limit=40, orderby="number", cursor=first["nextCursor"])
    ids = [r["id"] for r in first["value"] + rest]
    assert len(ids) == len(set(ids))  # nothing repeated by the insert
    assert created["id"] not in ids  # sorted before the cursor: not shifted into later pages
    assert len(ids) == len(bc_list(synced, "items")) - 1


def test_etag_304_then_change_then_modified_since(reader, synced, bc, bc_emulator):
    first = reader.get(f"{BASE}/items", {"limit": 10})
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert reader.get(f"{BASE}/items", {"limit": 10}, HTTP_IF_NONE_MATCH=etag).status_code == 304
    before = timezone.now().replace(microsecond=0)
    bc_emulator.control.advance_clock(5)
    item = first.json()["value"][2]
    changed = bc_emulator.bc.change(str(synced.bc_id), "items", item["id"], {"unitPrice": 123.45})
    assert sync_entity_set(bc, synced, "items").status == "succeeded"
    again = reader.get(f"{BASE}/items", {"limit": 10}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] != etag
    since = changed["lastModifiedDateTime"]
    modified = all_pages(reader, "/items", modified_since=since)
    assert item["id"] in {r["id"] for r in modified}
    assert all(r["lastModifiedDateTime"] >= since[:19] for r in modified)
    assert Decimal(next(r for r in modified if r["id"] == item["id"])["unitPrice"]) == Decimal("123.45")
    assert before  # the local clock is not what modified_since compares: BC's lastModifiedDateTime is


def test_tombstones_after_bc_deletes(reader, synced, bc, bc_emulator):
    item = bc_list(synced, "items")[0]
    bc_emulator.bc.delete(str(synced.bc_id), "items", item["id"])
    reconcile_entity_set(bc, synced, "items")
    live = {r["id"] for r in all_pages(reader, "/items", limit=1000)}
    assert item["id"] not in live
    tombstones = all_pages(reader, "/items", deleted="true")
    assert [t["id"] for t in tombstones] == [item["id"]]
    assert tombstones[0]["deleted"] is True and tombstones[0]["deletedAt"].endswith("Z")
    assert reader.get(f"{BASE}/items/{item['id']}").json()["deleted"] is True


def test_generic_set_serves_bc_payload(reader, synced):
    currencies = bc_list(synced, "currencies")
    records = all_pages(reader, "/sets/currencies")
    assert {r["key"]: r["data"]["code"] for r in records} == {c["id"]: c["code"] for c in currencies}
    one = reader.get(f"{BASE}/sets/currencies/{currencies[0]['id']}").json()
    assert one["data"] == {k: v for k, v in currencies[0].items()}


def test_bad_input_is_a_problem_naming_the_fix(reader, synced):
    for params, code in (
        ({"fields": "number,nope"}, "invalid_request"),
        ({"limit": 5000}, "invalid_request"),
        ({"cursor": "garbage!"}, "invalid_cursor"),
        ({"orderby": "color"}, "invalid_request"),
        ({"company": str(uuid.uuid4())}, "not_found"),
    ):
        answer = reader.get(f"{BASE}/items", params)
        assert answer["Content-Type"] == "application/problem+json", params
        body = answer.json()
        assert body["code"] == code and body["status"] == answer.status_code, (params, body)
        assert body["type"].endswith(code) and body["title"] and body["detail"]
    assert "nope" in reader.get(f"{BASE}/items", {"fields": "number,nope"}).json()["detail"]
    cursor = reader.get(f"{BASE}/items", {"limit": 1}).json()["nextCursor"]
    assert reader.get(f"{BASE}/items", {"cursor": cursor, "orderby": "number"}).json()["code"] == "invalid_cursor"
    assert reader.get(f"{BASE}/items/not-a-guid").status_code == 404
