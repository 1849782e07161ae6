"""Deterministic demo data, built lazily record by record.

A :class:`BaseSet` is the generated content of one entity set of one company: ``count``
records, each a pure function of ``(seed, company, entity set, index)`` built only when
served (:meth:`BaseSet.build`). Nothing is stored per record, so a 1,000,000-item company
costs a few prefix-sum arrays, not a million dicts. Created, changed and deleted records
live in the overlay of :mod:`bcbridge.emulator.bc.store`.

Volumes at ``scale=1`` for each company with demo data: 500 items (a quarter with 1-3
variants), 100 customers, 50 vendors, 100 sales orders / invoices / shipments with 1-5
lines each, 50 purchase invoices with lines, 3 G/L entries per sales invoice, plus quotes,
credit memos, purchase orders, journal lines, payments, employees with time entries and the
reference tables. ``scale=K`` multiplies every volume except the reference tables
(items = 500 * K, so ``scale=2000`` is 1,000,000 items). "My Company" has reference tables
only, like a new BC company.

``lastModifiedDateTime`` values are spread over the 180 days before the data anchor
(``EmulatorConfig.data_anchor``, default: midnight UTC of the day the data was built).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import compress

from bcbridge.emulator.bc import _catalog
from bcbridge.emulator.bc._ids import Salt, format_ms, guid, guid_index, salt

__all__ = ["BaseSet", "CompanyData", "EmptySet", "LinesSet", "build_companies", "number_finder"]

DAY_MS = 86_400_000
SPREAD_MS = 180 * DAY_MS

# Base volumes at scale 1 (per company with demo data). Shipment i ships sales order i, so
# the orders beyond the shipments (a third) are still open to ship: the warehouse custom
# API and the codeunit GetWhseShipmentList show them.
VOLUMES = {
    "items": 500, "customers": 100, "vendors": 50, "salesOrders": 150, "salesInvoices": 100,
    "salesShipments": 100, "purchaseInvoices": 50,
    "salesQuotes": 20, "salesCreditMemos": 10, "purchaseOrders": 30, "employees": 20,
    "journalLines": 20, "customerPayments": 20, "timeRegistrationEntries": 40,
}


class BaseSet:
    """The generated records of one entity set: index ``0 .. count-1``.

    Attributes:
        name: Entity set name.
        count: Number of generated records.
        salt: Hash inputs; ids come from :func:`~bcbridge.emulator.bc._ids.guid`.
    """

    def __init__(self, name: str, count: int, s: Salt, builder: Callable[[int], dict]) -> None:
        self.name = name
        self._count = count
        self.salt = s
        self._builder = builder
        #: field -> function mapping a value (uppercased) to the index holding it, for
        #: lookups by number in sets too large to scan (``Store.find``).
        self.finders: dict[str, Callable[[str], int | None]] = {}
        #: Unix ms of a generated record's modification timestamp without building it, so a
        #: ``lastModifiedDateTime`` filter skips non-matching records cheaply.
        self.modified_ms: Callable[[int], int] | None = None
        self._stamps: array[int] | None = None

    @property
    def count(self) -> int:
        return self._count

    def build(self, index: int) -> dict:
        """The record at ``index`` as a fresh dict in JSON field order."""
        return self._builder(index)

    def modified_between(self, low: float | None, high: float | None, *,
                         low_inclusive: bool, high_inclusive: bool) -> list[int] | None:
        """Sorted indexes of generated records whose timestamp (Unix ms) is in the range.

        Uses every generated timestamp, computed once (an ``array('q')``, 8 bytes per
        record) and compared at C speed; returns ``None`` when there is no
        :attr:`modified_ms` or the range holds most records (a plain scan is then as fast).
        """
        if self.modified_ms is None:
            return None
        if self._stamps is None:
            self._stamps = array("q", map(self.modified_ms, range(self.count)))
        stamps = self._stamps
        result: list[int] | None = None
        if low is not None:
            first = math.ceil(low) if low_inclusive else math.floor(low) + 1
            result = list(compress(range(len(stamps)), map(first.__le__, stamps)))
        if high is not None:
            last = math.floor(high) if high_inclusive else math.ceil(high) - 1
            result = [i for i in result if stamps[i] <= last] if result is not None else \
                list(compress(range(len(stamps)), map(last.__ge__, stamps)))
        if result is None or len(result) > len(stamps) // 2:
            return None
        return result

    def key(self, index: int) -> str:
        """The ``id`` of the record at ``index`` (also valid for indexes past ``count``)."""
        return guid(self.salt, index)

    def index(self, key: str) -> int | None:
        """The index whose id is ``key`` (any index, generated or later inserted)."""
        return guid_index(self.salt, key)

    def children_of(self, parent_index: int) -> range:  # pragma: no cover - overridden
        return range(0)

    def parent_of(self, index: int) -> int:  # pragma: no cover - overridden
        return -1


class EmptySet(BaseSet):
    """An entity set with no generated records (e.g. items of "My Company")."""

    def __init__(self, name: str, s: Salt) -> None:
        super().__init__(name, 0, s, lambda i: {})


class LinesSet(BaseSet):
    """A contained set whose records belong to parents by contiguous ranges.

    ``per_parent(p)`` gives how many children parent ``p`` has; the prefix sums are built on
    first use (one ``array('q')`` of ``parents + 1`` ints).
    """

    def __init__(self, name: str, parents: int, s: Salt, per_parent: Callable[[int], int],
                 builder: Callable[[int], dict]) -> None:
        super().__init__(name, 0, s, builder)
        self._parents = parents
        self._per_parent = per_parent
        self._starts: array[int] | None = None

    def _offsets(self) -> array[int]:
        if self._starts is None:
            starts = array("q", [0])
            total = 0
            for p in range(self._parents):
                total += self._per_parent(p)
                starts.append(total)
            self._starts = starts
        return self._starts

    @property
    def count(self) -> int:
        return self._offsets()[-1] if self._parents else 0

    def children_of(self, parent_index: int) -> range:
        if not 0 <= parent_index < self._parents:
            return range(0)
        starts = self._offsets()
        return range(starts[parent_index], starts[parent_index + 1])

    def parent_of(self, index: int) -> int:
        """Parent index of child ``index`` and, via :meth:`position`, its position inside it."""
        return bisect_right(self._offsets(), index) - 1

    def position(self, index: int) -> tuple[int, int]:
        parent = self.parent_of(index)
        return parent, index - self._offsets()[parent]


def number_finder(prefix: str, offset: int, width: int | None = None
                  ) -> Callable[[str], int | None]:
    """Inverse of numbers ``f"{prefix}{offset + index}"`` (zero-padded to ``width`` digits)."""

    def find(value: str) -> int | None:
        digits = value[len(prefix):]
        if not value.startswith(prefix) or not digits.isdigit():
            return None
        if width is not None and len(digits) != width:
            return None
        return int(digits) - offset

    return find


def scaled(name: str, scale: float) -> int:
    """Volume of ``name`` at ``scale`` (at least 1 record when the set has demo data)."""
    return max(1, round(VOLUMES[name] * scale))


def anchor_ms(anchor: str | None, now: datetime) -> int:
    """Unix ms of the data anchor: ``anchor`` (ISO date/datetime) or midnight UTC of ``now``."""
    if anchor:
        moment = datetime.fromisoformat(anchor.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        moment = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class CompanyData:
    """The generated entity sets of one company.

    Args:
        seed: Data seed. index: Company position in the environment (0, 1, ...).
        company: The company's API record (``companies`` entity).
        demo: Whether the company has business data (False: reference tables only).
        currency: Local currency code (documents in it have ``currencyCode`` "").
        scale: Volume multiplier. anchor: Unix ms the timestamps are spread before.
    """

    def __init__(self, seed: int, index: int, company: dict, demo: bool, currency: str,
                 scale: float, anchor: int) -> None:
        self.seed = seed
        self.index = index
        self.company = company
        self.id = company["id"]
        self.demo = demo
        self.currency = currency
        self.scale = scale
        self.anchor = anchor
        self.sets: dict[str, BaseSet] = {}
        from bcbridge.emulator.bc import _generate_documents, _generate_master

        _generate_master.register(self)
        _generate_documents.register(self)

    def salt(self, name: str) -> Salt:
        return salt(self.seed, self.index, name)

    def add(self, base: BaseSet, *, stamped: bool = True) -> BaseSet:
        """Register ``base``; ``stamped``: its timestamps come from :meth:`modified` with
        its own salt (enables :attr:`BaseSet.modified_ms`)."""
        self.sets[base.name] = base
        if stamped:
            s, anchor = base.salt, self.anchor
            base.modified_ms = lambda i: anchor - 1 - s.h(i, 99) % SPREAD_MS
        return base

    def volume(self, name: str) -> int:
        return scaled(name, self.scale) if self.demo else 0

    def modified(self, s: Salt, index: int) -> str:
        """Deterministic ``lastModifiedDateTime`` of a record: within the 180-day spread."""
        return format_ms(self.anchor - 1 - s.h(index, 99) % SPREAD_MS)

    def date(self, s: Salt, index: int, k: int = 98, days: int = 180) -> str:
        """A deterministic Edm.Date within ``days`` before the anchor."""
        day = datetime.fromtimestamp(self.anchor / 1000, UTC) - timedelta(
            days=1 + s.h(index, k) % days)
        return day.strftime("%Y-%m-%d")


def build_companies(seed: int, scale: float, anchor: int) -> list[CompanyData]:
    """Every company of the environment with its generated data (built lazily)."""
    result = []
    s = salt(seed, 0, "companies")
    for index, (name, display, currency, demo) in enumerate(_catalog.COMPANIES):
        created = format_ms(anchor - 400 * DAY_MS + index * 3_600_000)
        record = {
            "id": guid(s, index),
            "systemVersion": "27.0.38460.40109",
            "timestamp": 40_000 + s.h(index) % 20_000,
            "name": name,
            "displayName": display,
            "businessProfileId": "",
            "systemCreatedAt": created,
            "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
            "systemModifiedAt": created,
            "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
        }
        result.append(CompanyData(seed, index, record, demo, currency, scale, anchor))
    return result
