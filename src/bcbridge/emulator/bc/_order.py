"""Sorted key indexes of one entity set of one company, per ``$orderby``.

A page of ``$orderby=lastModifiedDateTime`` used to sort the whole set and scan it for the
``$skiptoken``'s record: O(set) per page, so a full sync cost O(set² / page). With an index
(a sorted list of the same keys :func:`bcbridge.emulator.bc.odata.run_query` compares:
one tuple per live record, ending with its ordinal, so keys are unique) a page bisects to
the token's position and reads only the records it serves: O(page + log set).

Indexes are built on first use and kept current by the store's writes (:meth:`OrderIndexes.
changed`, called under the store's lock with the record's key before and after the write);
a rolled-back ``$batch`` (:meth:`Store.restore`) drops them, to be rebuilt on next use.
Generated records of a set whose timestamps are known without building the record
(:attr:`~bcbridge.emulator.bc.data.BaseSet.modified_ms`) are indexed on that field without
building them, so a 1,000,000-record index costs about a second once.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EPOCH", "KeyOf", "OrderIndexes"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: ``key_of(record, ordinal) -> tuple``: the sort key ``run_query`` compares.
KeyOf = Callable[[dict, int], tuple]


class OrderIndexes:
    """The indexes of one set: ``$orderby`` (``((field, descending), ...)``) -> entries."""

    __slots__ = ("indexes",)

    def __init__(self) -> None:
        self.indexes: dict[tuple, tuple[KeyOf, list[tuple]]] = {}

    def get(self, orderby: tuple, build: Callable[[], list[tuple]], key_of: KeyOf) -> list[tuple]:
        """The sorted entries for ``orderby``, built with ``build()`` the first time."""
        found = self.indexes.get(orderby)
        if found is None:
            entries = build()
            entries.sort()
            self.indexes[orderby] = (key_of, entries)
            return entries
        return found[1]

    def changed(self, ordinal: int, before: dict | None, after: dict | None) -> None:
        """Record ``ordinal`` changed from ``before`` to ``after`` (``None``: absent)."""
        for key_of, entries in self.indexes.values():
            if before is not None:
                old = key_of(before, ordinal)
                at = bisect_left(entries, old)
                if at < len(entries) and entries[at] == old:
                    del entries[at]
            if after is not None:
                insort(entries, key_of(after, ordinal))

    def clear(self) -> None:
        self.indexes.clear()


def entries_for(
    ordinals: Iterable[int],
    record_at: Callable[[int], dict | None],
    key_of: KeyOf,
    fast: Callable[[int], tuple] | None = None,
    built: Callable[[int], bool] | None = None,
) -> list[tuple]:
    """Unsorted entries of the live records among ``ordinals``.

    Args:
        ordinals: Every ordinal of the set (generated, then inserted).
        record_at: The live record of an ordinal (``None``: deleted).
        key_of: Key of a built record.
        fast: Key of a *generated, unchanged* record without building it.
        built: True for ordinals that must be built (changed or inserted records) even
            with ``fast``; others are assumed live and unchanged.
    """
    entries: list[tuple] = []
    for ordinal in ordinals:
        if fast is not None and built is not None and not built(ordinal):
            entries.append(fast(ordinal))
            continue
        record = record_at(ordinal)
        if record is not None:
            entries.append(key_of(record, ordinal))
    return entries


def datetime_of_ms(ms: int) -> datetime:
    """Unix milliseconds as the aware datetime the filter compiler compares (exact)."""
    return EPOCH + timedelta(milliseconds=ms)


def high_key(value: Any) -> tuple:
    """A probe greater than every ascending entry whose first value is ``value``."""
    return ((True, value), _Top())


class _Top:
    """Compares greater than anything (the end of a run of equal first values)."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Top)

    __hash__ = None  # type: ignore[assignment]
