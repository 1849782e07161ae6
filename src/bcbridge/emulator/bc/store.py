"""Record store of the emulated BC: generated base data plus an overlay of changes.

Records are addressed by ``(company_id, entity_set, key)``; ``key`` is the record's ``id``
GUID (case-insensitive). Each record also has an *ordinal*: its position in the set's
default order (generated records ``0 .. n-1``, then inserted ones in insertion order).
Ordinals never change or get reused, which makes ``$skiptoken`` continuation stable while
records change.

Public API (used by the BC handlers, the control API, and ``batch``/``actions``/``custom``/
``webservices``):

* ``get(company_id, entity_set, key) -> dict | None``: a copy of the record (no
  ``@odata.etag``), ``None`` when absent.
* ``etag(company_id, entity_set, key) -> str``: its ``@odata.etag``.
* ``iter(company_id, entity_set, *, start=0, parent_key=None) -> Iterator[(ordinal, dict)]``:
  records in default order from ordinal ``start``; ``parent_key`` restricts a contained set
  (lines, variants, ...) to one parent. Records are fresh dicts the caller may modify.
* ``count(company_id, entity_set, parent_key=None) -> int``.
* ``find(company_id, entity_set, field, value) -> dict | None``: lookup by number/code.
* ``ordinal(company_id, entity_set, key) -> int | None``, ``record_at(company_id,
  entity_set, ordinal) -> dict | None``, ``etag_of(company_id, entity_set, ordinal, record)``
  and ``etagger(company_id, entity_set)`` (an ``etag(ordinal, record)`` function for pages).
* ``insert(company_id, entity_set, record) -> dict``: store a complete record (``id`` is
  assigned when blank or missing; a given ``id`` is kept, :class:`ValueError` if taken);
  stamps ``lastModifiedDateTime``.
* ``update(company_id, entity_set, key, changes) -> dict``: merge ``changes`` into the
  record; stamps ``lastModifiedDateTime`` and bumps the ETag.
* ``remove(company_id, entity_set, key) -> None``: delete (a header also loses its lines).
* ``next_number(company_id, series) -> str``: the next number of a number series
  (``SERIES``: an entity set name, or ``postedSalesInvoices``/``postedPurchaseInvoices``...).
* ``snapshot() -> object`` / ``restore(snapshot)``: save and roll back every change (for
  ``$batch`` with ``Isolation: snapshot`` and atomicity groups).
* ``on_change(callback)``: ``callback(company_id, entity_set, key, change_type, record)``
  after every insert (``created``), update (``updated``) and remove (``deleted``, record
  ``None``); a change to a line also reports ``updated`` for its header.

None of these check read-only rules, If-Match or enum values: that is
:mod:`bcbridge.emulator.bc.writes`' job; the store changes records "as a BC user would".
Raises :class:`KeyError` for an unknown company, entity set or key.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from bcbridge.emulator.bc import _totals
from bcbridge.emulator.bc._ids import format_datetime
from bcbridge.emulator.bc._order import KeyOf, OrderIndexes, entries_for
from bcbridge.emulator.bc._series import SERIES, first_number, format_number
from bcbridge.emulator.bc.data import BaseSet, CompanyData
from bcbridge.emulator.bc.etag import make_etag
from bcbridge.emulator.bc.schema import BLANK_GUID, schema

if TYPE_CHECKING:
    from bcbridge.emulator.clock import Clock

__all__ = ["SERIES", "ChangeListener", "Store"]

ChangeListener = Callable[[str, str, str, str, "dict | None"], None]

def _unique(ordinals: Iterable[int]) -> Iterator[int]:
    last = -1
    for ordinal in ordinals:
        if ordinal != last:
            yield ordinal
            last = ordinal


class _SetState:
    """Overlay of one entity set of one company."""

    __slots__ = ("base", "by_parent", "deleted", "inserted", "keys", "orders", "over", "versions")

    def __init__(self, base: BaseSet) -> None:
        self.base = base
        self.over: dict[int, dict] = {}  # changed generated records and inserted records
        self.deleted: set[int] = set()
        self.versions: dict[int, int] = {}
        self.inserted: list[int] = []  # ordinals of inserted records, in order
        # parent id -> ordinals of records that joined that parent by insert or update, so
        # listing a document's lines does not scan every inserted line.
        self.by_parent: dict[str, list[int]] = {}
        # ids given by the caller on insert (not derived from the ordinal) -> ordinal
        self.keys: dict[str, int] = {}
        # sorted keys per $orderby, kept current by the writes below (_order.py)
        self.orders = OrderIndexes()

    def joined(self, fk: str | None, ordinal: int, record: dict) -> None:
        if fk is not None:
            members = self.by_parent.setdefault(str(record.get(fk, "")).lower(), [])
            if ordinal not in members:
                members.append(ordinal)


def _copy_state(state: _SetState) -> tuple:
    return _copy_state_tuple((state.over, state.deleted, state.versions, state.inserted, state.by_parent, state.keys))


def _copy_state_tuple(saved: tuple) -> tuple:
    over, deleted, versions, inserted, by_parent, keys = saved
    return (dict(over), set(deleted), dict(versions), list(inserted),
            {parent: list(members) for parent, members in by_parent.items()}, dict(keys))


class Store:
    """Every company's records; thread-safe for writes (one lock).

    Args:
        companies: Generated data per company (:func:`~bcbridge.emulator.bc.data.build_companies`).
        clock: The emulator clock (timestamps of writes).
    """

    def __init__(self, companies: list[CompanyData], clock: Clock) -> None:
        self.companies = {c.id: c for c in companies}
        self.clock = clock
        self._states: dict[tuple[str, str], _SetState] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._listeners: list[ChangeListener] = []
        self.lock = threading.RLock()

    # -- lookups ---------------------------------------------------------------------------
    def company(self, company_id: str) -> CompanyData:
        data = self.companies.get(company_id.lower())
        if data is None:
            raise KeyError(company_id)
        return data

    def state(self, company_id: str, entity_set: str) -> _SetState:
        key = (company_id.lower(), entity_set)
        state = self._states.get(key)
        if state is None:
            base = self.company(company_id).sets.get(entity_set)
            if base is None:
                raise KeyError(entity_set)
            state = self._states[key] = _SetState(base)
        return state

    def ordinal(self, company_id: str, entity_set: str, key: str) -> int | None:
        """Ordinal of the live record ``key``, else ``None``."""
        state = self.state(company_id, entity_set)
        if not isinstance(key, str):
            return None
        index = state.keys.get(key.lower())
        if index is None:
            index = state.base.index(key)
        if index is None or index in state.deleted:
            return None
        if index in state.over:
            return index if str(state.over[index].get("id", "")).lower() == key.lower() \
                else None
        return index if index < state.base.count else None

    def _record(self, state: _SetState, ordinal: int) -> dict:
        record = state.over.get(ordinal)
        return dict(record) if record is not None else state.base.build(ordinal)

    def record_at(self, company_id: str, entity_set: str, ordinal: int) -> dict | None:
        """The live record with ``ordinal``, else ``None``."""
        state = self.state(company_id, entity_set)
        if ordinal in state.deleted or not (ordinal < state.base.count or ordinal in state.over):
            return None
        return self._record(state, ordinal)

    def get(self, company_id: str, entity_set: str, key: str) -> dict | None:
        ordinal = self.ordinal(company_id, entity_set, key)
        if ordinal is None:
            return None
        return self._record(self.state(company_id, entity_set), ordinal)

    def etag_of(self, company_id: str, entity_set: str, ordinal: int, record: dict) -> str:
        """The ``@odata.etag`` of a record already read (``ordinal`` from :meth:`iter`)."""
        return self.etagger(company_id, entity_set)(ordinal, record)

    def etagger(self, company_id: str, entity_set: str) -> Callable[[int, dict], str]:
        """``etag(ordinal, record)`` for many records of one set (no per-record lookups)."""
        versions = self.state(company_id, entity_set).versions
        modified = schema()[entity_set].modified_field or ""

        def etag(ordinal: int, record: dict) -> str:
            return make_etag(record["id"], versions.get(ordinal, 0),
                             str(record.get(modified, "")) if modified else "")

        return etag

    def etag(self, company_id: str, entity_set: str, key: str) -> str:
        ordinal = self.ordinal(company_id, entity_set, key)
        if ordinal is None:
            raise KeyError(key)
        return self.etag_of(company_id, entity_set, ordinal,
                            self._record(self.state(company_id, entity_set), ordinal))

    def iter(self, company_id: str, entity_set: str, *, start: int = 0,
             parent_key: str | None = None, generated: Sequence[int] | None = None
             ) -> Iterator[tuple[int, dict]]:
        """Records in ordinal order (see the module docstring).

        ``generated`` (sorted ordinals) restricts which generated records are visited, e.g.
        those a timestamp index says can match a filter; changed generated records and
        inserted records are always yielded.
        """
        state = self.state(company_id, entity_set)
        base, over, deleted = state.base, state.over, state.deleted
        if parent_key is not None:
            yield from self._iter_children(company_id, state, parent_key, start)
            return
        if generated is not None:
            # Changed generated records may match although their original timestamp did not.
            changed = sorted(o for o in list(over) if start <= o < base.count)
            tail = islice(generated, bisect_left(generated, start), None)
            visit: Iterable[int] = _unique(heapq.merge(tail, changed))
        else:
            visit = range(start, base.count)
        for ordinal in visit:
            if ordinal in deleted:
                continue
            record = over.get(ordinal)
            yield ordinal, (dict(record) if record is not None else base.build(ordinal))
        for ordinal in list(state.inserted):
            if ordinal >= start and ordinal not in deleted:
                yield ordinal, dict(over[ordinal])

    def _iter_children(self, company_id: str, state: _SetState, parent_key: str,
                       start: int) -> Iterator[tuple[int, dict]]:
        parent_set, fk = schema()[state.base.name].parent  # type: ignore[misc]
        parent_key = parent_key.lower()
        parent_ordinal = self.ordinal(company_id, parent_set, parent_key)
        if parent_ordinal is None:
            return
        seen = set()
        for ordinal in state.base.children_of(parent_ordinal):
            if ordinal >= start and ordinal not in state.deleted:
                record = self._record(state, ordinal)
                if str(record.get(fk, "")).lower() == parent_key:
                    seen.add(ordinal)
                    yield ordinal, record
        for ordinal in sorted(state.by_parent.get(parent_key, ())):
            record = state.over.get(ordinal)
            if record is not None and ordinal >= start and ordinal not in seen and \
                    ordinal not in state.deleted and str(record.get(fk, "")).lower() == parent_key:
                yield ordinal, dict(record)

    def find(self, company_id: str, entity_set: str, field: str, value: str) -> dict | None:
        """The first live record whose ``field`` equals ``value`` (case-insensitive, as BC
        uppercases Code fields), e.g. ``find(cid, "customers", "number", "C000010")``."""
        state = self.state(company_id, entity_set)
        wanted = str(value).upper()
        for ordinal, record in list(state.over.items()):  # list(): writers run in threads
            if ordinal not in state.deleted and str(record.get(field, "")).upper() == wanted:
                return dict(record)
        finder = getattr(state.base, "finders", {}).get(field)
        if finder is not None:
            index = finder(wanted)
            candidates: range | list[int] = [] if index is None else [index]
        else:
            candidates = range(state.base.count) if state.base.count <= 20_000 else []
        for index in candidates:
            if 0 <= index < state.base.count and index not in state.deleted and \
                    index not in state.over:
                record = state.base.build(index)
                if str(record.get(field, "")).upper() == wanted:
                    return record
        return None

    def order_index(self, company_id: str, entity_set: str, orderby: tuple, key_of: KeyOf,
                    fast: Callable[[int], tuple] | None = None) -> list[tuple]:
        """Sorted sort keys (``key_of(record, ordinal)``) of every live record of the set
        for ``orderby``, built on first use and kept current by writes (``_order.py``).

        ``fast(ordinal)`` gives the key of a generated, unchanged record without building
        it (e.g. from :attr:`BaseSet.modified_ms`). Callers take slices, never iterate the
        list itself while writers may run."""
        state = self.state(company_id, entity_set)
        with self.lock:
            base, over, deleted = state.base, state.over, state.deleted

            def build() -> list[tuple]:
                ordinals = [*range(base.count), *state.inserted]
                return entries_for(
                    ordinals, lambda o: self.record_at(company_id, entity_set, o), key_of, fast,
                    lambda o: o in over or o in deleted or o >= base.count)

            return state.orders.get(orderby, build, key_of)

    def count(self, company_id: str, entity_set: str, parent_key: str | None = None) -> int:
        state = self.state(company_id, entity_set)
        if parent_key is None:
            deleted = set(state.deleted)
            inserted_live = sum(1 for o in list(state.inserted) if o not in deleted)
            deleted_base = sum(1 for o in deleted if o < state.base.count)
            return state.base.count - deleted_base + inserted_live
        return sum(1 for _ in self.iter(company_id, entity_set, parent_key=parent_key))

    # -- writes ----------------------------------------------------------------------------
    def on_change(self, callback: ChangeListener) -> None:
        self._listeners.append(callback)

    def _notify(self, company_id: str, entity_set: str, key: str, change: str,
                record: dict | None) -> None:
        for listener in list(self._listeners):
            listener(company_id, entity_set, key, change, record)

    def _stamp(self, entity_set: str, record: dict) -> None:
        modified = schema()[entity_set].modified_field
        if modified and modified != "systemModifiedAt":
            record[modified] = format_datetime(self.clock.now())

    def next_ordinal(self, company_id: str, entity_set: str) -> int:
        state = self.state(company_id, entity_set)
        return max(state.base.count, state.inserted[-1] + 1 if state.inserted else 0)

    def insert(self, company_id: str, entity_set: str, record: dict) -> dict:
        with self.lock:
            state = self.state(company_id, entity_set)
            ordinal = self.next_ordinal(company_id, entity_set)
            record = dict(record)
            if not record.get("id") or record["id"] == BLANK_GUID:
                record["id"] = state.base.key(ordinal)
            else:
                record["id"] = str(record["id"]).lower()
                if self.ordinal(company_id, entity_set, record["id"]) is not None:
                    raise ValueError(f"{entity_set}({record['id']}) already exists")
                if record["id"] != state.base.key(ordinal):
                    state.keys[record["id"]] = ordinal
            self._stamp(entity_set, record)
            state.over[ordinal] = record
            state.inserted.append(ordinal)
            state.versions[ordinal] = 1
            state.orders.changed(ordinal, None, record)
            state.joined(schema()[entity_set].parent_fk, ordinal, record)
            self._after_change(company_id, entity_set, record, "created")
            return dict(record)

    def update(self, company_id: str, entity_set: str, key: str, changes: dict) -> dict:
        with self.lock:
            state = self.state(company_id, entity_set)
            ordinal = self.ordinal(company_id, entity_set, key)
            if ordinal is None:
                raise KeyError(key)
            record = self._record(state, ordinal)
            before = dict(record) if state.orders.indexes else None
            record.update(changes)
            self._stamp(entity_set, record)
            state.over[ordinal] = record
            if before is not None:
                state.orders.changed(ordinal, before, record)
            state.versions[ordinal] = state.versions.get(ordinal, 0) + 1
            fk = schema()[entity_set].parent_fk
            if fk is not None and fk in changes:
                state.joined(fk, ordinal, record)
            self._after_change(company_id, entity_set, record, "updated")
            return dict(record)

    def remove(self, company_id: str, entity_set: str, key: str) -> None:
        with self.lock:
            state = self.state(company_id, entity_set)
            ordinal = self.ordinal(company_id, entity_set, key)
            if ordinal is None:
                raise KeyError(key)
            record = self._record(state, ordinal)
            # BC deletes a document's lines (and an item's variants) with it.
            for child in schema()[entity_set].children.values():
                if (company_id.lower(), child) in self._states or \
                        child in self.company(company_id).sets:
                    child_state = self.state(company_id, child)
                    for child_ordinal, child_record in list(self.iter(company_id, child,
                                                                      parent_key=record["id"])):
                        child_state.deleted.add(child_ordinal)
                        child_state.over.pop(child_ordinal, None)
                        child_state.orders.changed(child_ordinal, child_record, None)
            state.deleted.add(ordinal)
            state.over.pop(ordinal, None)
            state.orders.changed(ordinal, record, None)
            self._after_change(company_id, entity_set, record, "deleted")

    def _after_change(self, company_id: str, entity_set: str, record: dict, change: str) -> None:
        self._notify(company_id, entity_set, record["id"], change,
                     None if change == "deleted" else dict(record))
        parent = schema()[entity_set].parent
        if parent is None:
            return
        parent_set, fk = parent
        parent_key = str(record.get(fk, ""))
        if self.ordinal(company_id, parent_set, parent_key) is None:
            return
        lines = [r for _, r in self.iter(company_id, entity_set, parent_key=parent_key)]
        changes = _totals.header_totals(parent_set, lines)
        # A line write is a write of the document: new ETag and lastModifiedDateTime
        # (docs/bc/4-concurrency.md §4).
        self.update(company_id, parent_set, parent_key, changes)

    def next_number(self, company_id: str, series: str) -> str:
        with self.lock:
            key = (company_id.lower(), series)
            if key not in self._counters:
                self._counters[key] = first_number(series, self.company(company_id).sets)
            n = self._counters[key]
            self._counters[key] = n + 1
            return format_number(series, n)

    # -- transactions ----------------------------------------------------------------------
    def snapshot(self, entity_sets: Iterable[tuple[str, str]] | None = None) -> object:
        """A savepoint: the overlay of every set (or only ``(company_id, entity_set)`` pairs)
        and the number series. Stored records are never changed in place (writes replace
        them), so shallow copies suffice and a savepoint costs pointers, not records."""
        with self.lock:
            wanted = None if entity_sets is None else {(c.lower(), e) for c, e in entity_sets}
            states = {
                key: _copy_state(s) for key, s in self._states.items() if wanted is None or key in wanted
            }
            return states, dict(self._counters), wanted

    def restore(self, snapshot: object) -> None:
        """Roll back to a :meth:`snapshot`; sets outside a partial snapshot are kept."""
        with self.lock:
            states, counters, wanted = snapshot  # type: ignore[misc]
            for key, state in self._states.items():
                if wanted is not None and key not in wanted:
                    continue
                (state.over, state.deleted, state.versions, state.inserted,
                 state.by_parent, state.keys) = _copy_state_tuple(states.get(key, ({}, set(), {}, [], {}, {})))
                state.orders.clear()  # rebuilt on next use from the restored records
            self._counters = dict(counters)
