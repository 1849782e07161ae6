"""``$orderby`` paging from sorted key indexes: pages follow the OData order (OData v4.01
Part 2 §5.1.1.6 ``$orderby``: ascending unless ``desc``; server-driven paging continues
after the last record served, docs/bc/3-odata-queries.md §3), whatever is written between pages."""

from __future__ import annotations

from datetime import datetime

import httpx

from bcbridge.emulator.bc import odata

from ._bc import client, company_id, company_url, make_emulator


def stamp(record: dict) -> datetime:
    return datetime.fromisoformat(record["lastModifiedDateTime"].replace("Z", "+00:00"))


def pages(http: httpx.Client, url: str, params: dict, size: int, between=None) -> list[dict]:
    served: list[dict] = []
    answer = http.get(url, params=params, headers={"Prefer": f"odata.maxpagesize={size}"}).json()
    while True:
        served.extend(answer["value"])
        link = answer.get("@odata.nextLink")
        if not link:
            return served
        if between is not None:
            between(len(served))
        answer = http.get(link, headers={"Prefer": f"odata.maxpagesize={size}"}).json()


def test_ordered_pages_list_every_record_once_in_timestamp_order() -> None:
    emulator = make_emulator(scale=2)
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        everything = pages(http, url, {}, 20_000)
        ordered = pages(http, url, {"$orderby": "lastModifiedDateTime"}, 70)
        descending = pages(http, url, {"$orderby": "lastModifiedDateTime desc"}, 70)
    assert sorted(r["id"] for r in ordered) == sorted(r["id"] for r in everything)
    assert len({r["id"] for r in ordered}) == len(everything) == 1000
    assert [stamp(r) for r in ordered] == sorted(stamp(r) for r in everything)
    assert [stamp(r) for r in descending] == sorted((stamp(r) for r in everything), reverse=True)


def test_range_filter_with_orderby_serves_exactly_the_range() -> None:
    emulator = make_emulator()
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        everything = pages(http, url, {}, 20_000)
        times = sorted(stamp(r) for r in everything)
        low, high = times[100], times[300]
        text = f"lastModifiedDateTime ge {low:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z"
        text += f" and lastModifiedDateTime lt {high:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z"
        served = pages(http, url, {"$filter": text, "$orderby": "lastModifiedDateTime"}, 30)
    expected = sorted((r for r in everything if low <= stamp(r) < high), key=stamp)
    assert [stamp(r) for r in served] == [stamp(r) for r in expected]
    assert {r["id"] for r in served} == {r["id"] for r in expected}


def test_writes_between_pages_keep_the_index_current() -> None:
    emulator = make_emulator()
    cid = company_id(emulator)
    with client(emulator) as http:
        url = f"{company_url(emulator)}/items"
        everything = sorted(pages(http, url, {}, 20_000), key=stamp)
        changed, gone = everything[-1], everything[-2]  # not yet served after the first page
        created: dict = {}

        def write(served: int) -> None:
            if served == 50:
                emulator.clock.advance(600)
                emulator.bc.change(cid, "items", changed["id"], {"displayName": "Changed"})
                emulator.bc.delete(cid, "items", gone["id"])
                created.update(emulator.bc.create(cid, "items", {"displayName": "New"}))

        served = pages(http, url, {"$orderby": "lastModifiedDateTime"}, 50, between=write)
    ids = [r["id"] for r in served]
    assert len(ids) == len(set(ids)) == len(everything)  # -1 deleted, +1 created
    assert gone["id"] not in ids
    assert ids[-2:] == [changed["id"], created["id"]] or ids[-2:] == [created["id"], changed["id"]]
    assert next(r for r in served if r["id"] == changed["id"])["displayName"] == "Changed"
    assert [stamp(r) for r in served] == sorted(stamp(r) for r in served)


def test_keys_of_generated_timestamps_equal_the_keys_of_built_records() -> None:
    emulator = make_emulator()
    cid = company_id(emulator)
    store = emulator.bc.store
    types = {"lastModifiedDateTime": "datetime"}
    orderby = (("lastModifiedDateTime", False),)
    key = odata._sort_key(list(orderby), types)

    def key_of(record: dict, ordinal: int) -> tuple:
        return key([odata._coerce(record.get("lastModifiedDateTime"), "datetime")], ordinal)

    for entity_set in ("items", "salesInvoices", "customers", "generalLedgerEntries"):
        built = store.order_index(cid, entity_set, orderby, key_of)
        base = store.state(cid, entity_set).base
        if base.modified_ms is None:
            continue
        fresh = make_emulator().bc.store
        from bcbridge.emulator.bc._order import datetime_of_ms

        fast = fresh.order_index(
            cid, entity_set, orderby, key_of, lambda o, ms=base.modified_ms: key([datetime_of_ms(ms(o))], o)
        )
        assert fast == built and len(built) == store.count(cid, entity_set)


def test_count_of_a_timestamp_range_matches_the_records_listed() -> None:
    emulator = make_emulator()
    with client(emulator) as http:
        for entity_set in ("items", "generalLedgerEntries"):
            url = f"{company_url(emulator)}/{entity_set}"
            everything = pages(http, url, {}, 20_000)
            times = sorted(stamp(r) for r in everything)
            low, high = times[len(times) // 5], times[len(times) // 2]
            literal = {t: f"{t:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z" for t in (low, high)}
            for ops, check in (
                (("ge", "lt"), lambda t, low=low, high=high: low <= t < high),
                (("gt", "le"), lambda t, low=low, high=high: low < t <= high),
            ):
                text = f"lastModifiedDateTime {ops[0]} {literal[low]} and "
                text += f"lastModifiedDateTime {ops[1]} {literal[high]}"
                counted = http.get(f"{url}/$count", params={"$filter": text}).text
                assert int(counted) == sum(1 for r in everything if check(stamp(r))) > 0
