"""bcbridge's OData layer and entity-set facade against SAP CAP (@sap/cds 9), a real OData v4
server nobody here wrote, serving a BC-shaped model under BC's URL layout.

Expected values come from the seed data in ``peers/cap/db/data`` (25 items in CRONUS, CAP
pages at 10 per ``peers/cap/.cdsrc.json``), the OData 4.01 specification and CAP's own
answers (its ETags, its errors), never from bcbridge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bcbridge.entities import BC
from bcbridge.exceptions import BCAPIError, ConcurrencyConflict
from bcbridge.models import Connection
from bcbridge.odata import BatchRequest, F, fetch_metadata, parse_metadata, send_batch
from bcbridge.sync.companies import load_companies

pytestmark = pytest.mark.peer

CRONUS = "d98d0928-7494-5dc6-b0c8-3908121c92a1"  # peers/cap/db/data/bc-Companies.csv
SEEDED_ITEMS = {f"{1900 + n}-S" for n in range(1, 26)}  # bc-Items.csv, company CRONUS


@pytest.fixture
def bc(db: Any, peer_network: Any, oidc_peer: Any, cap_peer: Any) -> Iterator[BC]:
    """The BC facade of a client-credentials connection: tokens from oidc-provider, BC = CAP."""
    client = oidc_peer.client()
    connection = Connection.objects.create(
        name="cap", api_url=cap_peer.api_url, authority_url=oidc_peer.authority, tenant=oidc_peer.tenant,
        environment=cap_peer.environment, client_id=client.client_id, client_secret=client.client_secret,
    )  # fmt: skip
    load_companies(connection, select=[CRONUS])
    with BC(connection) as facade:
        yield facade


def _new_item(bc: BC, number: str) -> dict[str, Any]:
    return bc.company(CRONUS).items.create({"number": number, "displayName": f"Peer test {number}", "unitPrice": 3})


def test_server_driven_paging_from_a_navigation_url(bc: BC) -> None:
    items = bc.company(CRONUS).items
    pages = list(items.pages(filter=F("number").endswith("-S"), select=["id", "number"]))
    assert len(pages) == 3 and [len(p["value"]) for p in pages] == [10, 10, 5]
    assert "@odata.nextLink" in pages[0] and "@odata.nextLink" not in pages[-1]
    numbers = [r["number"] for page in pages for r in page["value"]]
    assert set(numbers) == SEEDED_ITEMS and len(numbers) == 25


def test_paging_from_the_root_collection(bc: BC) -> None:
    companies = bc.companies()
    assert {c["id"] for c in companies} >= {CRONUS}
    records = list(bc.company(CRONUS).customers.list(orderby=["number"]))
    assert len(records) == 12  # bc-Customers.csv: two pages at CAP's 10
    assert [r["number"] for r in records] == sorted(r["number"] for r in records)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (F("city") == "Atlanta", 6),
        (F("displayName") == "O'Brien & Sons", 1),  # OData ABNF: ' doubled, & percent-encoded
        ((F("number") >= "C10050") & (F("number") < "C10100"), 5),
        (F("displayName").contains("Customer 1"), 3),
    ],
)
def test_filters_are_understood_by_a_real_odata_server(bc: BC, expression: Any, expected: int) -> None:
    assert len(list(bc.company(CRONUS).customers.list(filter=expression))) == expected


def test_etag_conflict_is_a_concurrency_conflict(bc: BC) -> None:
    items = bc.company(CRONUS).items
    created = _new_item(bc, "PEER-ETAG")
    etag = created["@odata.etag"]
    updated = items.update(created["id"], {"unitPrice": 4}, etag=etag)
    assert updated["@odata.etag"] != etag
    with pytest.raises(ConcurrencyConflict) as info:
        items.update(created["id"], {"unitPrice": 5}, etag=etag)  # stale: OData 4.01 §11.4.1.1
    assert info.value.status == 412
    assert items.get(created["id"])["unitPrice"] == 4
    items.delete(created["id"], etag=updated["@odata.etag"])


def test_batch_patches_carry_their_etags(bc: BC) -> None:
    items = bc.company(CRONUS).items
    first, second = _new_item(bc, "PEER-B1"), _new_item(bc, "PEER-B2")
    batch = BatchRequest()
    for record in (first, second):
        batch.patch(f"companies({CRONUS})/items({record['id']})", {"unitPrice": 7}, etag=record["@odata.etag"])
    results = send_batch(bc.client, batch, bc.urls.batch())
    assert [r.status for r in results] == [200, 200], [r.body for r in results]
    assert all(r.ok for r in results)
    assert items.get(first["id"])["unitPrice"] == 7 and items.get(second["id"])["unitPrice"] == 7


def test_failed_atomicity_group_rolls_back_and_is_reported_so(bc: BC) -> None:
    items = bc.company(CRONUS).items
    target = _new_item(bc, "PEER-G1")
    stale = target["@odata.etag"]
    items.update(target["id"], {"unitPrice": 8}, etag=stale)
    batch = BatchRequest()
    with batch.atomic():
        created = batch.post(f"companies({CRONUS})/items", {"number": "PEER-G2", "displayName": "rolled back"})
        failed = batch.patch(f"companies({CRONUS})/items({target['id']})", {"unitPrice": 9}, etag=stale)
    results = {r.operation.id: r for r in send_batch(bc.client, batch, bc.urls.batch())}
    assert results[failed].status == 412 and not results[failed].ok
    assert not results[created].ok and results[created].rolled_back
    with pytest.raises(BCAPIError):
        results[created].value()
    assert list(items.list(filter=F("number") == "PEER-G2")) == []  # the server really rolled it back


def test_metadata_as_xml_and_as_json_csdl_agree(bc: BC) -> None:
    xml = fetch_metadata(bc.client, bc.urls.metadata())
    answer = bc.client.request("GET", bc.urls.metadata(), headers={"Accept": "application/json"})
    assert answer.content.lstrip()[:1] == b"{"  # OData 4.01: JSON CSDL for application/json
    json = parse_metadata(answer.content)
    assert set(xml.entity_sets) == set(json.entity_sets) >= {"companies", "items", "customers", "salesOrders"}
    for metadata in (xml, json):
        items = metadata.entity_sets["items"]
        assert items.key == ("id",)
        # Core.Computed, which CAP writes in <Annotations Target=...> blocks
        assert items.fields["lastModifiedDateTime"].read_only and items.fields["inventory"].read_only
        assert not items.fields["unitPrice"].read_only
        assert items.fields["number"].max_length == 20
        lines = metadata.entity_sets["salesOrders"].entity_type.navigations["salesOrderLines"]
        assert lines.collection and lines.partner == "document"  # CAP: a composition, not ContainsTarget
    assert {n: p.read_only for n, p in xml.entity_sets["items"].fields.items()} == {
        n: p.read_only for n, p in json.entity_sets["items"].fields.items()
    }
