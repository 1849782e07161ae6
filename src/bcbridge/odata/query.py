"""An immutable OData query builder with BC's literal forms.

``Query().filter(F("lastModifiedDateTime") > watermark).select("id", "number").top(100)``
renders ``$filter=lastModifiedDateTime gt 2019-08-18T20:05:51.603Z&$select=id,number&$top=100``.

Literals follow docs/bc/3-odata-queries.md §3 (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-filter-expressions-in-odata-uris):
strings in single quotes with ``''`` escaping; numbers, dates (``2019-05-01``), datetimes
(``2019-08-18T20:05:51.603Z``) and GUIDs bare; enums as quoted strings (``status eq 'Open'``).
BC rejects ``or`` across different fields and needs ``$schemaversion=2.1`` for ``in``; the
builder does not hide those rules, it renders what you compose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bcbridge.http.urls import encode_query

__all__ = ["F", "Filter", "Query", "literal"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


def literal(value: Any) -> str:
    """The OData URL literal of a Python value, in the form BC accepts.

    ========================  ======================================
    ``str``                   ``'it''s'``
    ``uuid.UUID``             ``fca5738a-44e3-ea11-bb43-000d3a2feca1``
    ``datetime.date``         ``2019-05-01``
    ``datetime.datetime``     ``2019-08-18T20:05:51.603Z`` (converted to UTC, milliseconds)
    ``int``/``float``/Decimal ``42``, ``1.5``, ``1000.80``
    ``bool``                  ``true`` / ``false``
    ``None``                  ``null``
    ``enum.Enum``             its value as a quoted string (``'Open'``)
    ========================  ======================================

    Raises:
        ValueError: A naive datetime (its time zone is unknown), NaN or infinity.
        TypeError: Any other type.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _quote(str(value.value))
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no OData literal for {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"no OData literal for {value!r}")
        return format(value, "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone (BC compares in UTC)")
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    raise TypeError(f"no OData literal for {type(value).__name__}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Filter:
    """A ``$filter`` expression; combine with ``&`` (and), ``|`` (or) and ``~`` (not)."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str = "atom") -> None:
        self.text = text
        self.kind = kind  # "atom", "and", "or": decides where parentheses are needed

    def __and__(self, other: Filter | str) -> Filter:
        return Filter(f"{self._wrap('or')} and {_filter(other)._wrap('or')}", "and")

    def __or__(self, other: Filter | str) -> Filter:
        return Filter(f"{self.text} or {_filter(other).text}", "or")

    def __invert__(self) -> Filter:
        return Filter(f"not ({self.text})")

    def _wrap(self, weaker: str) -> str:
        return f"({self.text})" if self.kind == weaker else self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _filter(value: Filter | str) -> Filter:
    # A raw string is taken as written; wrap it, since its operators are unknown.
    return value if isinstance(value, Filter) else Filter(f"({value})")


class F:
    """A field (or ``a/b`` navigation path) to compare: ``F("number") == "1000"``.

    Raises:
        ValueError: The name is not an OData identifier path (so it cannot smuggle syntax).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"not an OData field name: {name!r}")
        self.name = name

    @classmethod
    def _call(cls, function: str, field: F) -> F:
        made = cls.__new__(cls)
        made.name = f"{function}({field.name})"
        return made

    def _cmp(self, op: str, value: Any) -> Filter:
        return Filter(f"{self.name} {op} {literal(value)}")

    def __eq__(self, value: Any) -> Filter:  # type: ignore[override]
        return self._cmp("eq", value)

    def __ne__(self, value: Any) -> Filter:  # type: ignore[override]
        return self._cmp("ne", value)

    def __gt__(self, value: Any) -> Filter:
        return self._cmp("gt", value)

    def __ge__(self, value: Any) -> Filter:
        return self._cmp("ge", value)

    def __lt__(self, value: Any) -> Filter:
        return self._cmp("lt", value)

    def __le__(self, value: Any) -> Filter:
        return self._cmp("le", value)

    __hash__ = None  # type: ignore[assignment]

    def startswith(self, value: str) -> Filter:
        """``startswith(name,'value')``."""
        return Filter(f"startswith({self.name},{literal(value)})")

    def endswith(self, value: str) -> Filter:
        """``endswith(name,'value')``."""
        return Filter(f"endswith({self.name},{literal(value)})")

    def contains(self, value: str) -> Filter:
        """``contains(name,'value')`` (BC turns it into a ``*value*`` AL filter)."""
        return Filter(f"contains({self.name},{literal(value)})")

    def in_(self, values: Iterable[Any]) -> Filter:
        """``name in ('a','b')``; BC needs ``$schemaversion=2.1`` (``Query.schema_version``)."""
        items = ",".join(literal(v) for v in values)
        return Filter(f"{self.name} in ({items})")

    def tolower(self) -> F:
        """``tolower(name)`` for case-insensitive comparisons (BC compares case-sensitively)."""
        return F._call("tolower", self)

    def toupper(self) -> F:
        """``toupper(name)``."""
        return F._call("toupper", self)

    def __repr__(self) -> str:
        return f"F({self.name!r})"


@dataclass(frozen=True)
class Query:
    """Immutable OData query options; every method returns a new :class:`Query`.

    Attributes:
        filters: ``$filter`` parts, joined with ``and``.
        selects: ``$select`` fields.
        expands: ``$expand`` items as ``(navigation, nested query or None)``.
        orderbys: ``$orderby`` items (``"number"``, ``"number desc"``).
        top_: ``$top``; skip_: ``$skip``; count_: ``$count=true``.
        extra: Other parameters, e.g. ``$schemaversion``.
    """

    filters: tuple[Filter, ...] = ()
    selects: tuple[str, ...] = ()
    expands: tuple[tuple[str, Query | None], ...] = ()
    orderbys: tuple[str, ...] = ()
    top_: int | None = None
    skip_: int | None = None
    count_: bool = False
    extra: tuple[tuple[str, str], ...] = ()

    def filter(self, *conditions: Filter | str) -> Query:
        """Add conditions (a :class:`Filter` or a raw ``$filter`` string), and-ed together."""
        return dataclasses.replace(self, filters=self.filters + tuple(_filter(c) for c in conditions))

    def select(self, *fields: str) -> Query:
        """Add ``$select`` fields."""
        for name in fields:
            if not _NAME.match(name):
                raise ValueError(f"not an OData field name: {name!r}")
        return dataclasses.replace(self, selects=self.selects + tuple(fields))

    def expand(self, *navigations: str, **nested: Query) -> Query:
        """Add ``$expand`` items; keyword ones carry nested options:
        ``expand(salesOrderLines=Query().select("itemId"))`` -> ``salesOrderLines($select=itemId)``.
        """
        items = [(name, None) for name in navigations] + list(nested.items())
        for name, _ in items:
            if not _NAME.match(name):
                raise ValueError(f"not an OData navigation name: {name!r}")
        return dataclasses.replace(self, expands=self.expands + tuple(items))

    def orderby(self, *fields: str) -> Query:
        """Add ``$orderby`` items: ``"number"``, ``"number desc"`` or ``"-number"`` (desc)."""
        items = []
        for item in fields:
            name, _, direction = item.strip().partition(" ")
            desc = name.startswith("-")
            name = name.lstrip("-")
            direction = direction.strip().lower() or ("desc" if desc else "")
            if not _NAME.match(name) or direction not in {"", "asc", "desc"}:
                raise ValueError(f"bad $orderby item: {item!r}")
            items.append(f"{name} {direction}" if direction else name)
        return dataclasses.replace(self, orderbys=self.orderbys + tuple(items))

    def top(self, n: int) -> Query:
        """``$top=n`` (BC: prefer server-driven paging to ``$top``/``$skip`` paging)."""
        return dataclasses.replace(self, top_=_count_value(n, "$top"))

    def skip(self, n: int) -> Query:
        """``$skip=n``."""
        return dataclasses.replace(self, skip_=_count_value(n, "$skip"))

    def count(self, enabled: bool = True) -> Query:
        """``$count=true``: the answer carries ``@odata.count``."""
        return dataclasses.replace(self, count_=enabled)

    def param(self, name: str, value: str) -> Query:
        """Any other query parameter, e.g. ``param("company", "CRONUS")``."""
        return dataclasses.replace(self, extra=(*self.extra, (name, value)))

    def schema_version(self, version: str = "2.1") -> Query:
        """``$schemaversion=2.1``: needed by BC for ``in`` and nested functions (§3)."""
        return self.param("$schemaversion", version)

    @property
    def filter_text(self) -> str | None:
        """The rendered ``$filter`` value, or ``None``."""
        if not self.filters:
            return None
        if len(self.filters) == 1:
            return self.filters[0].text
        return " and ".join(f._wrap("or") for f in self.filters)

    def params(self) -> dict[str, str]:
        """The query options as an ordered ``{"$filter": ..., ...}`` dict (not encoded)."""
        out: dict[str, str] = {}
        if self.filters:
            out["$filter"] = self.filter_text or ""
        if self.selects:
            out["$select"] = ",".join(self.selects)
        if self.expands:
            out["$expand"] = ",".join(_expand_item(n, q) for n, q in self.expands)
        if self.orderbys:
            out["$orderby"] = ",".join(self.orderbys)
        if self.top_ is not None:
            out["$top"] = str(self.top_)
        if self.skip_ is not None:
            out["$skip"] = str(self.skip_)
        if self.count_:
            out["$count"] = "true"
        out.update(self.extra)
        return out

    def __str__(self) -> str:
        """The encoded query string without ``?``."""
        return encode_query(self.params())


def _expand_item(name: str, nested: Query | None) -> str:
    if nested is None:
        return name
    options = ";".join(f"{k}={v}" for k, v in nested.params().items())
    return f"{name}({options})" if options else name


def _count_value(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} must be a non-negative int, not {n!r}")
    return n
