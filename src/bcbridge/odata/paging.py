"""Lazy server-driven paging: follow ``@odata.nextLink`` until there is none.

BC pages collections at 20,000 entities online, or at the ``Prefer: odata.maxpagesize=N``
the client asks for, and puts the next page's URL (``$skiptoken``; opaque) in
``@odata.nextLink`` (docs/bc/3-odata-queries.md §3, DOCS
``webservices/Server-Driven-Paging-in-OData-Web-Services.md``).
A nextLink may be absolute or relative; a relative one is resolved against the page's
``@odata.context`` URL (OData JSON format §4.6: payload URLs are relative to the context URL),
or the page's own URL when there is no context. Every link goes through
:meth:`BCClient.resolve <bcbridge.http.BCClient.resolve>`, so a link to another host raises
:class:`~bcbridge.exceptions.ConfigurationError`. A link seen before ends the iteration
(logged as a warning) instead of looping forever (meltano paginators).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from bcbridge.http.urls import check_under_root, with_query
from bcbridge.odata.query import Query

if TYPE_CHECKING:
    from bcbridge.http import BCClient

__all__ = ["iter_pages", "iter_records"]

logger = logging.getLogger("bcbridge.odata")


def iter_pages(
    client: BCClient,
    url: str,
    query: Query | Mapping[str, Any] | None = None,
    page_size: int | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    max_pages: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield each page (the decoded JSON object) of a collection, fetching lazily.

    Args:
        client: The connection's :class:`~bcbridge.http.BCClient`.
        url: The collection URL, relative to ``client.base_url`` or absolute.
        query: Options for the first request (:class:`Query` or a params dict); later pages
            use the nextLink as given, which already carries them.
        page_size: Sent as ``Prefer: odata.maxpagesize=N`` on every request (BC max 20,000).
        headers: Extra headers on every request.
        max_pages: Stop after this many pages (``None``: no limit).

    Raises:
        BCAPIError, TransportError: From the client (after its retries).
        ConfigurationError: A nextLink that leaves the connection's environment root
            (another host, tenant or environment).
        ValueError: A page that is not a JSON object.
    """
    send_headers = dict(headers or {})
    if page_size is not None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        send_headers["Prefer"] = f"odata.maxpagesize={page_size}"
    params = query.params() if isinstance(query, Query) else dict(query or {})
    current = client.resolve(with_query(url, params))
    seen = {current}
    pages = 0
    while True:
        page = client.get_json(current, headers=send_headers)
        if not isinstance(page, dict):
            raise ValueError(f"expected a JSON object from {current}, got {type(page).__name__}")
        yield page
        pages += 1
        link = page.get("@odata.nextLink")
        if not link or (max_pages is not None and pages >= max_pages):
            return
        base = page.get("@odata.context")
        base = urljoin(current, base) if isinstance(base, str) and base else current
        # the link must stay under the environment root, as endpoint templates do: the same
        # host's other tenants and environments are not ours
        following = check_under_root(client.resolve(urljoin(base, str(link))), client.base_url)
        if following in seen:
            logger.warning("stopping at a repeated @odata.nextLink %s", following)
            return
        seen.add(following)
        current = following


def iter_records(
    client: BCClient,
    url: str,
    query: Query | Mapping[str, Any] | None = None,
    page_size: int | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    max_pages: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every entity of a collection (the items of each page's ``value``), lazily.

    Same arguments and errors as :func:`iter_pages`.
    """
    for page in iter_pages(client, url, query, page_size, headers=headers, max_pages=max_pages):
        yield from page.get("value") or ()
