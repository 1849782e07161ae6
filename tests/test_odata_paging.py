"""iter_pages / iter_records: nextLink following, relative links, loops and host checks."""

from __future__ import annotations

import logging

import httpx
import pytest

from bcbridge.exceptions import ConfigurationError
from bcbridge.http import BCClient
from bcbridge.odata import F, Query, iter_pages, iter_records

ROOT = "https://api.bc.test/v2.0/t/production/api/v2.0"
ITEMS = f"{ROOT}/companies(1)/items"


class Pages:
    """Serves numbered pages; ``links[n]`` is the nextLink written on page n."""

    def __init__(self, links: dict[int, str | None], context: str | None = f"{ROOT}/$metadata#items"):
        self.links = links
        self.context = context
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        page = int(request.url.params.get("page", "0"))
        body: dict = {"value": [{"n": page * 10 + i} for i in range(2)]}
        if self.context:
            body["@odata.context"] = self.context
        link = self.links.get(page)
        if link:
            body["@odata.nextLink"] = link
        return httpx.Response(200, json=body)


def client_for(handler) -> BCClient:
    return BCClient(ROOT + "/", None, transport=httpx.MockTransport(handler))


def test_follows_absolute_links_lazily_with_page_size():
    pages = Pages({0: f"{ITEMS}?page=1", 1: f"{ITEMS}?page=2", 2: None})
    client = client_for(pages)
    records = iter_records(client, "companies(1)/items", Query().filter(F("number") == "1"), page_size=2)
    assert next(records) == {"n": 0}
    assert len(pages.requests) == 1  # nothing fetched ahead
    assert [r["n"] for r in records] == [1, 10, 11, 20, 21]
    assert [r.headers["Prefer"] for r in pages.requests] == ["odata.maxpagesize=2"] * 3
    first = pages.requests[0].url
    assert first.params["$filter"] == "number eq '1'"
    assert "$filter" not in pages.requests[1].url.params  # the nextLink carries the state


def test_relative_links_resolve_against_context_url():
    # OData JSON: payload URLs are relative to the context URL (the service root here).
    pages = Pages({0: "companies(1)/items?page=1", 1: None})
    client = client_for(pages)
    assert len(list(iter_pages(client, "companies(1)/items"))) == 2
    assert str(pages.requests[1].url) == f"{ITEMS}?page=1"


def test_relative_links_without_context_resolve_against_page_url():
    pages = Pages({0: "items?page=1", 1: "?page=2", 2: None}, context=None)
    client = client_for(pages)
    assert len(list(iter_pages(client, ITEMS))) == 3
    assert [str(r.url) for r in pages.requests] == [ITEMS, f"{ITEMS}?page=1", f"{ITEMS}?page=2"]


def test_repeated_link_stops(caplog):
    pages = Pages({0: f"{ITEMS}?page=1", 1: f"{ITEMS}?page=2", 2: f"{ITEMS}?page=1"})
    client = client_for(pages)
    with caplog.at_level(logging.WARNING, logger="bcbridge.odata"):
        got = list(iter_records(client, ITEMS))
    assert len(got) == 6
    assert len(pages.requests) == 3
    assert "repeated @odata.nextLink" in caplog.text


def test_self_link_stops():
    pages = Pages({0: ITEMS})
    assert len(list(iter_pages(client_for(pages), ITEMS))) == 1


def test_link_to_another_host_is_refused():
    pages = Pages({0: "https://evil.test/steal?page=1"})
    pager = iter_pages(client_for(pages), ITEMS)
    next(pager)
    with pytest.raises(ConfigurationError):
        next(pager)
    assert len(pages.requests) == 1


def test_max_pages_and_empty_pages():
    pages = Pages({0: f"{ITEMS}?page=1", 1: f"{ITEMS}?page=2"})
    assert len(list(iter_pages(client_for(pages), ITEMS, max_pages=2))) == 2

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": []})

    assert list(iter_records(client_for(empty), ITEMS)) == []


def test_non_object_page_is_an_error():
    def listing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[1, 2])

    with pytest.raises(ValueError, match="JSON object"):
        list(iter_pages(client_for(listing), ITEMS))
