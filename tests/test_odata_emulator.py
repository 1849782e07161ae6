"""The HTTP client and OData layer against the in-process emulator (BC side)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

import bcbridge.emulator as emulator
import bcbridge.emulator.config as config_mod
from bcbridge.exceptions import ConcurrencyConflict, NotFound
from bcbridge.http import BCClient, BCUrls, RequestRecord
from bcbridge.odata import (
    BatchRequest,
    F,
    Query,
    etag_of,
    iter_pages,
    iter_records,
    parse_metadata,
    send_batch,
)

BASE = "http://bc.emulator.test"


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@pytest.fixture(scope="module")
def bc():
    config = emulator.EmulatorConfig(base_url=BASE)
    emu = emulator.Emulator(config)
    transport = emu.transport()
    with httpx.Client(transport=transport) as raw:
        answer = raw.post(
            f"{BASE}/{config.tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "scope": config_mod.BC_SCOPE,
            },
        )
    token = answer.json()["access_token"]
    urls = BCUrls(BASE, config.tenant, config.environment)
    records: list[RequestRecord] = []
    client = BCClient(urls.api_root() + "/", Bearer(token), transport=transport, on_request=records.append)
    company = next(c for c in client.get_json("companies")["value"] if "CRONUS" in c["name"].upper())
    yield client, urls, company["id"], records
    client.close()


def test_iter_records_reads_every_item_once(bc):
    client, urls, company, records = bc
    first = client.get_json(urls.entity_set(company, "items"), params={"$count": "true", "$top": 1})
    total = first["@odata.count"]
    assert total > 200
    records.clear()
    ids = [item["id"] for item in iter_records(client, urls.entity_set(company, "items"), page_size=97)]
    assert len(ids) == total
    assert len(set(ids)) == total
    assert len(records) == -(-total // 97)  # one request per page
    assert all(r.status == 200 and r.attempt == 1 for r in records)


def test_iter_pages_with_filter_and_select(bc):
    client, urls, company, _ = bc
    items = list(iter_records(client, urls.entity_set(company, "items"), page_size=200))
    stamps = sorted(i["lastModifiedDateTime"] for i in items)
    middle = dt.datetime.fromisoformat(stamps[len(stamps) // 2].replace("Z", "+00:00"))
    query = Query().filter(F("lastModifiedDateTime") > middle).select("id", "number", "lastModifiedDateTime")
    newer = [
        r for page in iter_pages(client, urls.entity_set(company, "items"), query, page_size=50) for r in page["value"]
    ]
    expected = [
        i for i in items if dt.datetime.fromisoformat(i["lastModifiedDateTime"].replace("Z", "+00:00")) > middle
    ]
    assert {r["id"] for r in newer} == {i["id"] for i in expected}
    assert set(newer[0]) <= {"@odata.etag", "id", "number", "lastModifiedDateTime"}


def test_batch_patch_and_stale_etag(bc):
    client, urls, company, _ = bc
    item = next(iter_records(client, urls.entity_set(company, "items"), Query().top(1)))
    relative = f"companies({company})/items({item['id']})"
    batch = BatchRequest()
    read = batch.get(relative)
    write = batch.patch(relative, {"displayName": "Batch bike"}, etag=etag_of(item))
    results = {r.operation.id: r for r in send_batch(client, batch)}
    assert results[read].value()["id"] == item["id"]
    assert results[write].value()["displayName"] == "Batch bike"

    stale = BatchRequest()
    stale.patch(relative, {"displayName": "Again"}, etag=etag_of(item))
    stale.get(f"companies({company})/items(00000000-0000-0000-0000-0000000000ff)")
    first, missing = send_batch(client, stale)
    assert isinstance(first.error, ConcurrencyConflict)
    assert isinstance(missing.error, NotFound)


def test_patch_with_etag_and_conflict(bc):
    client, urls, company, _ = bc
    item = next(iter_records(client, urls.entity_set(company, "customers"), Query().top(1)))
    url = urls.entity_set(company, "customers", item["id"])
    changed = client.patch_json(url, {"displayName": "Renamed Ltd"}, etag_of(item))
    assert changed["displayName"] == "Renamed Ltd"
    assert etag_of(changed) != etag_of(item)
    with pytest.raises(ConcurrencyConflict) as info:
        client.patch_json(url, {"displayName": "Lost update"}, etag_of(item))
    assert info.value.request_id and info.value.method == "PATCH"


def test_metadata_from_the_wire(bc):
    client, urls, _, _ = bc
    meta = parse_metadata(client.request("GET", urls.metadata()).content)
    assert meta.entity_sets["items"].key == ("id",)
