"""OData query options over records in Python: ``$filter``, ``$select``, ``$expand``,
``$orderby``, ``$top``, ``$skip``, ``$count`` and server-driven paging.

Reusable by every BC surface (API v2.0, custom APIs, web services):

* :func:`parse_options` reads the query string into :class:`QueryOptions`.
* :func:`run_query` filters, orders and pages ``(ordinal, record)`` rows and returns a
  :class:`Page` with the continuation token for ``$skiptoken``.
* :func:`query_records` does both for a plain iterable of dicts (positions as ordinals).

Paging (docs/bc/3-odata-queries.md §3, §5): pages hold at most ``max_page_size`` (20,000) records, fewer with
``Prefer: odata.maxpagesize=N``. The ``$skiptoken`` is opaque and *key based*: it names the
last record served (its ordinal, plus its ``$orderby`` values), so the next page starts
after that record even if records were inserted, changed or deleted meanwhile.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from bcbridge.emulator.bc._filter import (
    _coerce,
    check_schema_version,
    compile_filter,
    parse_filter,
)
from bcbridge.emulator.bc._order import high_key
from bcbridge.emulator.errors import BCError

__all__ = [
    "Expand",
    "Page",
    "QueryOptions",
    "decode_token",
    "encode_token",
    "parse_options",
    "project",
    "query_records",
    "run_query",
    "split_top_level",
]

Row = tuple[int, dict]
RowSource = Callable[[int], Iterable[Row]]


@dataclass
class Expand:
    """One ``$expand`` item: navigation ``name`` with nested options (``$select``, ...)."""

    name: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class QueryOptions:
    """Parsed system query options of one request."""

    filter_text: str | None = None
    filter: Any = None
    filter_node: Any = None
    select: list[str] | None = None
    expand: list[Expand] = field(default_factory=list)
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False
    skiptoken: list | None = None


@dataclass
class Page:
    """One page of results: ``rows`` to serve, ``next_token`` for ``$skiptoken`` (``None``
    on the last page) and ``count`` (matching records, only with ``$count=true``)."""

    rows: list[Row]
    next_token: str | None
    count: int | None = None


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses and quotes: ``a($select=x,y),b`` -> 2 items."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _not_found(name: str, entity_type: str) -> BCError:
    return BCError(400, "BadRequest_NotFound",
                   f"Could not find a property named '{name}' on type '{entity_type}'.")


def _int(name: str, value: str) -> int:
    if not re.fullmatch(r"\d+", value.strip()):
        raise BCError(400, "BadRequest_NotFound",
                      f"Invalid value '{value}' for the query option {name}.")
    return int(value)


def parse_options(args: Mapping[str, str], types: Mapping[str, str], *,
                  entity_type: str = "entity", navigations: Iterable[str] = (),
                  reject_or_across_fields: bool = True,
                  require_schema_version: bool = False) -> QueryOptions:
    """Parse ``$filter``, ``$select``, ``$expand``, ``$orderby``, ``$top``, ``$skip``,
    ``$count`` and ``$skiptoken``.

    Args:
        args: Query parameters (first value of each).
        types: Field name -> entities.json type of the entity set.
        entity_type: ``Microsoft.NAV.<entity>`` for error messages.
        navigations: Names ``$expand`` may use.
        reject_or_across_fields: Reject ``or`` across distinct fields (docs/bc/3-odata-queries.md §3).
        require_schema_version: Reject ``in`` and nested function calls unless ``args`` has
            ``$schemaversion=2.1`` (docs/bc/3-odata-queries.md §3).

    Raises:
        BCError: 400 ``BadRequest_NotFound`` for syntax errors and unknown properties.
    """
    options = QueryOptions()
    text = args.get("$filter")
    if text:
        options.filter_text = text
        node = parse_filter(text)
        if require_schema_version:
            version = next((v for k, v in args.items() if k.lower() == "$schemaversion"), None)
            check_schema_version(node, version)
        options.filter = compile_filter(node, types, entity_type=entity_type,
                                        reject_or_across_fields=reject_or_across_fields)
        options.filter_node = node
    if args.get("$select"):
        options.select = [s.strip() for s in args["$select"].split(",") if s.strip()]
        for name in options.select:
            if name not in types and name != "*":
                raise _not_found(name, entity_type)
    if args.get("$expand"):
        allowed = set(navigations)
        for item in split_top_level(args["$expand"]):
            match = re.fullmatch(r"([\w.]+)\s*(?:\((.*)\))?", item, re.S)
            if not match or match[1] not in allowed:
                raise _not_found(match[1] if match else item, entity_type)
            nested = {}
            for part in split_top_level(match[2] or "", ";"):
                key, _, value = part.partition("=")
                nested[key.strip()] = value.strip()
            options.expand.append(Expand(match[1], nested))
    if args.get("$orderby"):
        for item in split_top_level(args["$orderby"]):
            words = item.split()
            if words[0] not in types or len(words) > 2 or (
                    len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise _not_found(words[0], entity_type)
            options.orderby.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    if args.get("$top") is not None:
        options.top = _int("$top", args["$top"])
    if args.get("$skip") is not None:
        options.skip = _int("$skip", args["$skip"])
    options.count = str(args.get("$count", "")).lower() == "true"
    if args.get("$skiptoken"):
        options.skiptoken = decode_token(args["$skiptoken"])
    return options


def encode_token(values: list) -> str:
    """Opaque ``$skiptoken`` text for a continuation state."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_token(token: str) -> list:
    """Inverse of :func:`encode_token`; 400 ``BadRequest_NotFound`` for a mangled token."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise BCError(400, "BadRequest_NotFound", "The skip token is not valid.") from error
    if not isinstance(value, list) or len(value) != 3:
        raise BCError(400, "BadRequest_NotFound", "The skip token is not valid.")
    return value


class _Desc:
    """Wraps a sort value so it sorts descending."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v

    __hash__ = None  # type: ignore[assignment]


def _sort_key(orderby: list[tuple[str, bool]], types: Mapping[str, str]) -> Callable:
    def key(values: list, ordinal: int) -> tuple:
        parts: list[Any] = []
        for (_, desc), value in zip(orderby, values, strict=True):
            item = (value is not None, value if value is not None else 0)
            parts.append(_Desc(item) if desc else item)
        parts.append(ordinal)
        return tuple(parts)

    return key


def run_query(source: RowSource, options: QueryOptions, *, page_size: int,
              types: Mapping[str, str], total: int | None = None,
              fetch: Callable[[int], dict | None] | None = None,
              order_index: Callable[[tuple, Callable], list] | None = None,
              seek: tuple[Any, Any] | None = None) -> Page:
    """Filter, order and page rows.

    Args:
        source: ``source(start)`` yields ``(ordinal, record)`` in ordinal order from ``start``.
        options: Parsed options (``$skiptoken`` continues after the named record).
        page_size: Records per page (already limited by ``max_page_size``).
        types: Field types (``$orderby`` compares typed values).
        total: Number of rows when no filter applies (saves a pass for ``$count``).
        fetch: ``fetch(ordinal)`` re-reads one record; with it, ``$orderby`` keeps only sort
            keys of the matching rows (not the rows) while ranking a large set.
        order_index: ``order_index(orderby, key_of)`` -> the sorted keys of every record of
            ``source`` (:mod:`bcbridge.emulator.bc._order`); with ``fetch``, an ``$orderby``
            page bisects to the ``$skiptoken`` and reads only what it serves: O(page).
        seek: ``(low, high)`` bounds (typed values, ``None``: open) the filter puts on the
            first ``$orderby`` field (ascending): the scan starts at ``low`` and ends after
            ``high``; the filter still decides every row.

    Returns:
        The page; ``next_token`` is set when more matching records follow.
    """
    token = options.skiptoken
    if token and (not isinstance(token[2], list) or len(token[2]) != len(options.orderby)):
        raise BCError(400, "BadRequest_NotFound", "The skip token is not valid.")
    served = int(token[1]) if token else 0
    limit = page_size
    if options.top is not None:
        limit = min(limit, max(0, options.top - served))
    matches = options.filter or (lambda record: True)
    count = None
    if options.count:
        count = total if (total is not None and options.filter is None) else sum(
            1 for _, r in source(0) if matches(r))
    rows: list[Row] = []
    more = False
    if options.orderby and order_index is not None and fetch is not None:
        rows, more = _indexed(options, order_index, fetch, matches, types, token, limit, seek)
    elif options.orderby:
        names = [n for n, _ in options.orderby]
        key = _sort_key(options.orderby, types)

        def values(record: dict) -> list:
            return [_coerce(record.get(n), types.get(n, "string")) for n in names]

        ranked = sorted(((key(values(r), o), o, None if fetch else r)
                         for o, r in source(0) if matches(r)), key=lambda t: t[0])
        position = 0
        if token:
            after = key(_restore(token[2], names, types), int(token[0]))
            while position < len(ranked) and not after < ranked[position][0]:
                position += 1
        else:
            position = options.skip
        chosen = ranked[position:position + limit]
        rows = [(o, r if r is not None else fetch(o)) for _, o, r in chosen]  # type: ignore[misc]
        rows = [(o, r) for o, r in rows if r is not None]
        more = position + limit < len(ranked)
    else:
        start = int(token[0]) + 1 if token else 0
        to_skip = 0 if token else options.skip
        for ordinal, record in source(start):
            if not matches(record):
                continue
            if to_skip:
                to_skip -= 1
                continue
            if len(rows) == limit:
                more = True
                break
            rows.append((ordinal, record))
    if options.top is not None and served + len(rows) >= options.top:
        more = False
    next_token = None
    if more and rows:
        last_ordinal, last = rows[-1]
        sort_values = [last.get(n) for n, _ in options.orderby]
        next_token = encode_token([last_ordinal, served + len(rows), sort_values])
    return Page(rows, next_token, count)


def _indexed(options: QueryOptions, order_index: Callable[[tuple, Callable], list],
             fetch: Callable[[int], dict | None], matches: Callable[[dict], bool],
             types: Mapping[str, str], token: list | None, limit: int,
             seek: tuple[Any, Any] | None) -> tuple[list[Row], bool]:
    """One ``$orderby`` page from a sorted key index: bisect, then read forward."""
    names = [n for n, _ in options.orderby]
    key = _sort_key(options.orderby, types)

    def key_of(record: dict, ordinal: int) -> tuple:
        return key([_coerce(record.get(n), types.get(n, "string")) for n in names], ordinal)

    entries = order_index(tuple(options.orderby), key_of)
    position = 0
    if token:
        position = bisect_right(entries, key(_restore(token[2], names, types), int(token[0])))
    low, high = seek if seek is not None and not options.orderby[0][1] else (None, None)
    if low is not None:
        position = max(position, bisect_left(entries, ((True, low),)))
    end = bisect_right(entries, high_key(high)) if high is not None else len(entries)
    to_skip = 0 if token else options.skip
    rows: list[Row] = []
    while position < end:
        chunk = entries[position:min(end, position + 1024)]  # a slice: writers may insert
        position += len(chunk)
        for entry in chunk:
            ordinal = entry[-1]
            record = fetch(ordinal)
            if record is None or not matches(record):
                continue
            if to_skip:
                to_skip -= 1
                continue
            if len(rows) == limit:
                return rows, True
            rows.append((ordinal, record))
    return rows, False


def _restore(values: list, names: list[str], types: Mapping[str, str]) -> list:
    return [_coerce(v, types.get(n, "string")) for v, n in zip(values, names, strict=True)]


def project(record: dict, select: list[str] | None, keep: Iterable[str] = ()) -> dict:
    """``record`` reduced to ``$select`` (plus ``keep``, e.g. ``@odata.etag``), in JSON order."""
    if not select or "*" in select:
        return record
    wanted = set(select) | set(keep)
    return {k: v for k, v in record.items() if k in wanted}


def query_records(records: Iterable[dict], args: Mapping[str, str], types: Mapping[str, str],
                  *, page_size: int = 20_000, entity_type: str = "entity",
                  reject_or_across_fields: bool = True) -> Page:
    """Apply the query options in ``args`` to plain records (for custom APIs and web services).

    Ordinals are positions in ``records``, so ``records`` must come in a stable order.
    """
    options = parse_options(args, types, entity_type=entity_type,
                            reject_or_across_fields=reject_or_across_fields)
    materialised = list(records)

    def source(start: int) -> Iterable[Row]:
        return ((i, materialised[i]) for i in range(start, len(materialised)))

    return run_query(source, options, page_size=page_size, types=types,
                     total=len(materialised))
