"""Fetch the next page from BC while the current one is written to the database.

Most of a page's fetch time is spent waiting for BC, while writing it is local work, so
running the two side by side makes a sync take about the longer of the two instead of
their sum. At most two pages wait in the queue (so a slow page of BC's does not stall the
writer at once), so memory stays bounded by a few pages.

The fetching thread has its own database connections (Django's are per thread), used by
the rate limiter and the token manager. Prefetching is therefore off when that would not
work: inside a transaction of the caller (the other connection cannot see its uncommitted
rows, e.g. the connection itself in a test case) and on an in-memory SQLite database
(shared-cache connections fail at once instead of waiting for a lock).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from django.db import connection as default_connection
from django.db import connections

from bcbridge.conf import get_settings

__all__ = ["prefetch_possible", "prefetched"]

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch_possible() -> bool:
    """True when a fetching thread can safely use the database (see the module docstring)."""
    if not get_settings().SYNC_PREFETCH or default_connection.in_atomic_block:
        return False
    if default_connection.vendor == "sqlite":
        return not default_connection.is_in_memory_db()  # type: ignore[attr-defined]
    return True


def prefetched(pages: Iterator[dict[str, Any]], enabled: bool = True) -> Iterator[dict[str, Any]]:
    """Yield ``pages``, reading the next one in a background thread while the caller works.

    Errors of the fetching thread are raised in the caller at the page where they happened;
    closing the generator early stops the thread.
    """
    if not enabled:
        yield from pages
        return
    handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the caller, which decides
            put(_Failure(error))
        finally:
            connections.close_all()  # this thread's own connections

    worker = threading.Thread(target=fetch, name="bcbridge-sync-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
