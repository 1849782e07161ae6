"""Orders through the REST API end to end: POST -> outbox -> emulator -> status sent, exactly
one order in BC per Idempotency-Key, BC down -> still 202 and sent later; endpoints; health."""

from __future__ import annotations

import json

import pytest

from bcbridge.emulator.faults import FaultRule
from bcbridge.models import ApiEndpoint, OutboxMessage

from ._api import BASE, api_client, make_key
from ._push import dispatch_until_done, records, with_external

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(company):
    _, key = make_key(["orders", "read"])
    return api_client(key)


def _order(bc_emulator, company, number="WEB-1", quantity=2):
    cid = str(company.bc_id)
    customer = records(bc_emulator, cid, "customers")[0]["number"]
    item = next(r for r in records(bc_emulator, cid, "items") if r["type"] == "Inventory")["number"]
    return {"customer": customer, "lines": [{"item": item, "quantity": quantity}], "external_document_number": number}


def _post(client, body, key):
    return client.post(
        f"{BASE}/sales-orders", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_order_reaches_bc_exactly_once(shop, company, bc_emulator):
    body = _order(bc_emulator, company)
    first = _post(shop, body, "k-1")
    assert first.status_code == 202, first.content
    accepted = first.json()
    assert accepted["status"] == "pending" and accepted["externalDocumentNumber"] == "WEB-1"
    assert first["Location"] == accepted["statusUrl"]
    again = _post(shop, body, "k-1")  # a client retry after a lost answer
    assert again.status_code == 200 and again.json()["id"] == accepted["id"]
    dispatch_until_done()
    status = shop.get(accepted["statusUrl"]).json()
    assert status["status"] == "sent" and status["bcId"] and status["bcNumber"] and status["bcEtag"]
    in_bc = with_external(bc_emulator, str(company.bc_id), "WEB-1")
    assert len(in_bc) == 1 and in_bc[0]["id"] == status["bcId"] and in_bc[0]["number"] == status["bcNumber"]
    assert _post(shop, body, "k-1").json()["status"] == "sent"
    dispatch_until_done()
    assert len(with_external(bc_emulator, str(company.bc_id), "WEB-1")) == 1
    assert OutboxMessage.objects.count() == 1


def test_same_key_other_body_is_409_and_key_is_required(shop, company, bc_emulator):
    body = _order(bc_emulator, company, "WEB-2")
    assert _post(shop, body, "k-2").status_code == 202
    other = _post(shop, {**body, "lines": [{**body["lines"][0], "quantity": 5}]}, "k-2")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert other["Content-Type"] == "application/problem+json"
    duplicate = _post(shop, body, "k-3")  # a new key for an order number already queued
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_order"
    missing = shop.post(f"{BASE}/sales-orders", json.dumps(body), content_type="application/json")
    assert missing.status_code == 400 and missing.json()["code"] == "missing_idempotency"
    invalid = _post(shop, {**body, "lines": []}, "k-4")
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["loc"][-1] == "lines"
    assert OutboxMessage.objects.count() == 1


def test_bc_down_still_202_then_sent(shop, company, bc_emulator):
    bc_emulator.control.faults.add(FaultRule("503", path="/api/v2.0/companies"))
    answer = _post(shop, _order(bc_emulator, company, "WEB-DOWN"), "k-down")
    assert answer.status_code == 202

    def outage_ends(round_no, now):
        if round_no == 3:
            bc_emulator.control.faults.clear()

    dispatch_until_done(between=outage_ends)
    status = shop.get(answer.json()["statusUrl"]).json()
    assert status["status"] == "sent" and status["attempts"] > 1
    assert len(with_external(bc_emulator, str(company.bc_id), "WEB-DOWN")) == 1


def test_unknown_item_is_parked_with_the_reason(shop, company, bc_emulator):
    body = _order(bc_emulator, company, "WEB-BAD")
    body["lines"][0]["item"] = "NO-SUCH-ITEM"
    answer = _post(shop, body, "k-bad")
    assert answer.status_code == 202
    dispatch_until_done()
    status = shop.get(answer.json()["statusUrl"]).json()
    assert status["status"] == "parked"
    assert "NO-SUCH-ITEM" in status["error"]["message"]


def test_scopes_and_company_restriction(company, bc_emulator):
    _, read_only = make_key(["read"], name="bi")
    answer = _post(api_client(read_only), _order(bc_emulator, company), "k")
    assert answer.status_code == 403 and answer.json()["code"] == "insufficient_scope"
    other = company.connection.companies.exclude(pk=company.pk).first()
    assert other is not None
    _, limited = make_key(["read"], name="limited", company=other)
    denied = api_client(limited).get(f"{BASE}/items", {"company": str(company.bc_id)})
    assert denied.status_code == 403 and denied.json()["code"] == "company_forbidden"


def test_endpoint_call_answers_bc_json(company, bc_emulator):
    ApiEndpoint.objects.create(
        connection=company.connection,
        code="ITEM_BY_NUMBER",
        name="Item by number",
        kind="api",
        method="GET",
        url_template="items?$filter=number eq '{number}'",
    )
    item = records(bc_emulator, str(company.bc_id), "items")[0]
    _, key = make_key(["endpoints"], name="wms", endpoints=["ITEM_BY_NUMBER"])
    client = api_client(key)
    answer = client.post(
        f"{BASE}/endpoints/ITEM_BY_NUMBER",
        json.dumps({"placeholders": {"number": item["number"]}}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert [r["id"] for r in answer.json()["value"]] == [item["id"]]
    reserved = client.post(
        f"{BASE}/endpoints/ITEM_BY_NUMBER",
        json.dumps({"placeholders": {"company": "x"}}),
        content_type="application/json",
    )
    assert reserved.status_code == 400 and reserved.json()["errors"][0]["loc"] == ["body", "placeholders", "company"]
    other = client.post(f"{BASE}/endpoints/OTHER", "{}", content_type="application/json")
    assert other.status_code == 403 and other.json()["code"] == "insufficient_scope"


def test_health_reports_connections_and_outbox(shop, company):
    body = shop.get(f"{BASE}/health").json()
    assert body["connections"][0]["name"] == company.connection.name
    assert body["connections"][0]["tokenStatus"] in {"valid", "expiring", "not_authorized"}
    assert set(body["outbox"]) == {"pending", "in_flight", "sent", "parked", "cancelled"}
