"""The partitioned part of a pull (see :mod:`bcbridge.sync.partition`): plan the rest of a
large pull after its first page, read its ranges with several streams, catch up.

The engine passes ``store(page, watermark_of=None)``, its per-page transaction (write the
page, renew the lease with the watermark, count), and ``renew(watermark)``; this module
never writes to the database itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bcbridge.http import BCClient
from bcbridge.odata import F, Query, iter_pages
from bcbridge.sync._upsert import PageResult
from bcbridge.sync.partition import Range, Watermark, _edge, _side_by_side, fetch_ranges, plan_ranges

__all__ = ["Plan", "catch_up", "plan_rest", "pull_ranges"]

logger = logging.getLogger("bcbridge.sync")

#: ``(query of the rest, its ranges, headers per page)``.
Plan = tuple[Query, list[Range], int]
Store = Callable[..., PageResult]


def _count(client: BCClient, url: str, query: Query) -> int | None:
    params = {k: v for k, v in query.params().items() if k == "$filter"}
    try:
        return int(client.request("GET", f"{url}/$count", params=params).text)
    except Exception:  # without a count the pull simply stays one stream
        logger.debug("no $count for %s", url, exc_info=True)
        return None


def plan_rest(
    client: BCClient,
    url: str,
    query: Query,
    modified: str,
    watermark: datetime | None,
    first: dict[str, Any],
    size: int,
    streams: int,
    expand: tuple[str, ...],
    min_pages: int,
) -> Plan | None:
    """After the first page (stored, so ``watermark`` is its last timestamp): the plan for
    the rest when it holds at least ``min_pages`` pages (of ``size`` records, children
    included), else ``None``
    (the single stream goes on).

    The rest is everything from the first page's last timestamp on (``ge``: records sharing
    that timestamp may sit on the next page; reading them twice is harmless). Its pages are
    sized by records, children included (an invoice page of 5,000 headers is ~20,000
    records), so the streams' pages are alike whatever the set."""
    if watermark is None:
        return None
    rest = query.filter(F(modified) >= watermark)
    filters = dataclasses.replace(Query(), filters=rest.filters)
    # one round of requests: the rest's count and its newest timestamp, side by side (its
    # oldest is the first page's last, the watermark)
    total, newest = _side_by_side(
        lambda ask: _count(client, url, rest) if ask == "count" else _edge(client, url, filters, modified, last=True),
        ["count", "newest"],
        2,
    )
    values = first.get("value") or []
    headers = len(values) or 1
    records = headers + sum(len(record.get(nav) or ()) for record in values for nav in expand)
    per_page = max(1, round(size * headers / records))
    if total is None or total < min_pages * per_page:
        return None
    ranges = plan_ranges(
        client, url, filters, modified, total=total, streams=streams, page_size=per_page, edges=(watermark, newest)
    )
    if len(ranges) < 2:
        return None
    return rest, ranges, per_page


def pull_ranges(
    client: BCClient,
    url: str,
    plan: Plan,
    modified: str,
    watermark: datetime | None,
    streams: int,
    store: Store,
    renew: Callable[[datetime], None],
) -> None:
    """Read the planned ranges with ``streams`` streams and ``store`` their pages as they
    arrive; the watermark follows :class:`~bcbridge.sync.partition.Watermark` (from
    ``watermark``), and ``renew`` saves it when a finished range moves it."""
    rest, ranges, per_page = plan
    mark = Watermark(len(ranges), watermark)
    pages = fetch_ranges(client, url, rest, modified, ranges, streams=streams, page_size=per_page)
    with contextlib.closing(pages):  # an error here stops every stream at once
        for index, page in pages:
            if page is None:
                mark.finished(index)
                moved = mark.value()
                if moved is not None:
                    renew(moved)
                continue

            def watermark_of(result: PageResult, index: int = index) -> datetime | None:
                mark.written(index, result.max_modified)
                return mark.value()

            store(page, watermark_of)


def catch_up(client: BCClient, url: str, query: Query, modified: str, since: datetime, size: int, store: Store) -> None:
    """After the ranges: what changed while they were read (``modified gt since``, one
    stream); a record changed meanwhile moves past every range's end, where a finished
    stream no longer looks."""
    for page in iter_pages(client, url, query.filter(F(modified) > since), size):
        store(page)
