"""Partitioned parallel fetch of a large entity set: ``lastModifiedDateTime`` ranges read by
up to N streams at once and written by one writer as their pages arrive.

BC processes 5 requests of a user at once and serves pages of at most 20,000 records
(docs/bc/3-odata-queries.md §3, §5), and its time per request, not ours, is what a first load waits for; one
stream uses a fifth of what BC permits. So a large pull is cut into ranges of the set's
change-tracking field::

    range 0: lastModifiedDateTime lt b1
    range k: lastModifiedDateTime ge bk and lastModifiedDateTime lt bk+1
    range n: lastModifiedDateTime ge bn            (open: also catches records changed meanwhile)

each read in ``$orderby=lastModifiedDateTime`` order by one stream. The boundaries split the
span between the set's oldest and newest timestamp evenly, then ranges that ``/$count`` says
hold far more than their share are halved, so streams get similar work; the ranges wait in
one queue, lowest first, and each stream takes the next one when it finishes its own.

**The watermark rule** (:class:`Watermark`): a record is safe below the watermark only when
every record with a smaller ``lastModifiedDateTime`` is stored. Ranges finish out of order,
so the watermark is the greatest timestamp written in the finished ranges *below the lowest
unfinished range*, or the greatest written so far *inside* that range (its pages come in
timestamp order). It never moves backwards and never past a range still being read, so a
crash at any point resumes from the watermark without gaps; upserts are idempotent, so what
the resumed run reads again creates no duplicates.

Concurrency: every request goes through the connection's client and therefore its rate
limiter, which is shared with every other worker of the connection (``RATE_LIMIT_*``), so
N streams never put more requests in flight than the budget allows.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections

from bcbridge.http import BCClient
from bcbridge.odata import F, Query, iter_pages
from bcbridge.sync.registry import parse_datetime

__all__ = ["Range", "Watermark", "fetch_ranges", "plan_ranges"]

logger = logging.getLogger("bcbridge.sync")

#: Halving rounds when balancing ranges by ``/$count``.
_BALANCE_ROUNDS = 3

#: Pages per stream from which ranges are balanced by ``/$count`` (see :func:`plan_ranges`).
BALANCE_MIN_PAGES = 8


@dataclass
class Range:
    """One ``lastModifiedDateTime`` range: ``low <= t < high`` (``None``: unbounded).

    Attributes:
        index: Position in timestamp order (0 = oldest).
        low / high: Bounds; ``low`` is inclusive, ``high`` exclusive.
        count: Records BC counted in the range when planning (``None``: not counted).
    """

    index: int
    low: datetime | None
    high: datetime | None
    count: int | None = None

    def query(self, base: Query, field: str) -> Query:
        """``base`` restricted to this range."""
        query = base
        if self.low is not None:
            query = query.filter(F(field) >= self.low)
        if self.high is not None:
            query = query.filter(F(field) < self.high)
        return query


class Watermark:
    """The watermark of a partitioned pull (see the module docstring).

    Args:
        ranges: How many ranges, in timestamp order.
        start: The watermark before the pull (never moved below).
    """

    def __init__(self, ranges: int, start: datetime | None) -> None:
        self.start = start
        self.done = [False] * ranges
        self.seen: list[datetime | None] = [None] * ranges

    def written(self, index: int, greatest: datetime | None) -> None:
        """A page of range ``index`` is stored; ``greatest`` is its largest timestamp."""
        seen = self.seen[index]
        if greatest is not None and (seen is None or greatest > seen):
            self.seen[index] = greatest

    def finished(self, index: int) -> None:
        """Range ``index`` has no more pages (every page of it is stored)."""
        self.done[index] = True

    @property
    def all_done(self) -> bool:
        return all(self.done)

    @property
    def lowest_unfinished(self) -> int | None:
        return next((i for i, done in enumerate(self.done) if not done), None)

    def value(self) -> datetime | None:
        """The greatest timestamp below which everything is stored."""
        mark = self.start
        for done, seen in zip(self.done, self.seen, strict=True):
            if seen is not None and (mark is None or seen > mark):
                mark = seen
            if not done:
                break
        return mark


def _get(client: BCClient, url: str, query: Query) -> dict[str, Any]:
    page = client.get_json(url, params=query.params())
    return page if isinstance(page, dict) else {}


def _count(client: BCClient, url: str, query: Query) -> int | None:
    params = {k: v for k, v in query.params().items() if k == "$filter"}
    try:
        return int(client.request("GET", f"{url}/$count", params=params).text)
    except Exception:  # a set without /$count is read as it is planned, unbalanced
        logger.debug("no $count for %s", url, exc_info=True)
        return None


def _edge(client: BCClient, url: str, base: Query, field: str, last: bool) -> datetime | None:
    query = base.select(field).orderby(f"{field} desc" if last else field).top(1)
    values = _get(client, url, query).get("value") or []
    return parse_datetime(values[0].get(field)) if values else None


def _ms(value: datetime) -> datetime:
    """Truncated to whole milliseconds: the precision of BC datetimes and of our literals."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _cut(low: datetime, high: datetime, parts: int) -> list[datetime]:
    """``parts - 1`` inner boundaries evenly between ``low`` and ``high`` (whole ms)."""
    span = (high - low) / parts
    cuts = sorted({_ms(low + span * k) for k in range(1, parts)})
    return [c for c in cuts if low < c <= high]


def plan_ranges(
    client: BCClient,
    url: str,
    base: Query,
    field: str,
    *,
    total: int,
    streams: int,
    page_size: int,
    balance: bool | None = None,
    edges: tuple[datetime | None, datetime | None] = (None, None),
) -> list[Range]:
    """Split the records ``base`` selects into ranges of ``field`` for ``streams`` streams.

    Args:
        client: The connection's client (requests go through its limiter).
        url: The collection URL.
        base: The pull's own query (filters, ``$expand``); ranges add their bounds.
        field: The change-tracking field (``lastModifiedDateTime``).
        total: ``/$count`` of ``base``.
        streams: Streams that will read the ranges.
        page_size: Records per page (no range is planned smaller than about one page).
        balance: Count each range and halve those holding far more than their share
            (one more round of requests); default: only for pulls of at least
            :data:`BALANCE_MIN_PAGES` pages per stream, where that round is cheap beside the
            pull (smaller ones rely on the shared queue of ranges).
        edges: The oldest and newest timestamps of the records, when already known (each
            unknown one costs a request).

    Returns:
        Ranges in timestamp order, covering every value (the first has no lower bound, the
        last no upper bound); one unbounded range when the set cannot be split.
    """
    pages = max(1, math.ceil(total / max(page_size, 1)))
    wanted = min(pages, streams * 2)
    if balance is None:
        balance = pages >= BALANCE_MIN_PAGES * streams
    # the planning requests run side by side too: each costs BC's latency
    unknown = [last for last, known in zip((False, True), edges, strict=True) if known is None]
    answers = _side_by_side(lambda last: _edge(client, url, base, field, last=last), unknown, streams)
    found = dict(zip(unknown, answers, strict=True))
    first, final = (found[False] if edges[0] is None else edges[0]), (found[True] if edges[1] is None else edges[1])
    if wanted < 2 or first is None or final is None or final - first < timedelta(milliseconds=wanted):
        return [Range(0, None, None, total)]
    bounds = _cut(first, final, wanted)
    if balance:
        share = total / wanted
        counts: dict[tuple[datetime | None, datetime | None], int | None] = {}
        for _ in range(_BALANCE_ROUNDS):
            edges = [None, *bounds, None]
            heavy: list[datetime] = []
            todo = [key for key in itertools.pairwise(edges) if key not in counts]
            found_counts = _side_by_side(
                lambda key: _count(client, url, Range(0, key[0], key[1]).query(base, field)), todo, streams
            )
            counts.update(zip(todo, found_counts, strict=True))
            for low, high in itertools.pairwise(edges):
                found = counts[(low, high)]
                if found is not None and found > 1.5 * share and found > page_size:
                    # halve it by time; its ends are the neighbouring bounds or the set's edges
                    start, stop = low or first, high or final
                    heavy.extend(_cut(start, stop, 2))
            if not heavy or len(bounds) + len(heavy) > streams * 8:
                break
            bounds = sorted(set(bounds) | set(heavy))
        edges = [None, *bounds, None]
        return [Range(i, low, high, counts.get((low, high))) for i, (low, high) in enumerate(itertools.pairwise(edges))]
    edges = [None, *bounds, None]
    return [Range(i, low, high) for i, (low, high) in enumerate(itertools.pairwise(edges))]


def _side_by_side(work: Callable[[Any], Any], items: list[Any], streams: int) -> list[Any]:
    """``[work(item) for item in items]`` with up to ``streams`` threads (requests through
    the shared limiter); each thread closes its own database connections. Errors are
    raised in the caller."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)

    def run() -> None:
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                results[index] = work(items[index])
        except BaseException as error:  # re-raised in the caller
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(max(1, min(streams, len(items))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_STREAM_DONE = object()


def fetch_ranges(
    client: BCClient,
    url: str,
    base: Query,
    field: str,
    ranges: list[Range],
    *,
    streams: int,
    page_size: int,
    buffered: int | None = None,
) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Read ``ranges`` with ``streams`` threads; yield ``(range index, page)`` as pages
    arrive and ``(range index, None)`` once a range has no more pages.

    At most ``buffered`` pages (default ``streams + 1``) wait for the caller, so memory stays
    bounded by a few pages whatever the set's size. The first error of any stream is raised
    in the caller (pages of other streams still waiting are dropped, never half-written);
    closing the generator stops every stream. Each thread closes its own database
    connections (the rate limiter's and the token manager's) when it ends.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=buffered or streams + 1)
    todo: queue.SimpleQueue[Range] = queue.SimpleQueue()
    for item in ranges:
        todo.put(item)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def stream() -> None:
        try:
            while not stop.is_set():
                try:
                    current = todo.get_nowait()
                except queue.Empty:
                    return
                for page in iter_pages(client, url, current.query(base, field), page_size):
                    if not put((current.index, page)):
                        return
                if not put((current.index, None)):
                    return
        except BaseException as error:  # handed to the caller, which decides
            put(_Failure(error))
        finally:
            connections.close_all()
            put(_STREAM_DONE)

    workers = [
        threading.Thread(target=stream, name=f"bcbridge-sync-stream-{n}", daemon=True)
        for n in range(max(1, min(streams, len(ranges))))
    ]
    for worker in workers:
        worker.start()
    alive = len(workers)
    try:
        while alive:
            item = handoff.get()
            if item is _STREAM_DONE:
                alive -= 1
                continue
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        for worker in workers:
            worker.join()
