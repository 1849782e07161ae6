"""GET of companies and API v2.0 entities: envelopes, ETags, query options, paging.

Envelopes are shaped like BC's (docs/bc/3-odata-queries.md §3): a collection is
``{"@odata.context": "{base}{prefix}/$metadata#companies({id})/items", "value": [...]}``
(plus ``@odata.count`` with ``$count=true`` and an absolute ``@odata.nextLink`` with an
opaque ``$skiptoken`` when more records follow); a single entity is
``{"@odata.context": ".../$metadata#companies({id})/items/$entity", "@odata.etag": ..., ...}``
with an ``ETag`` header. Every entity carries ``@odata.etag`` (docs/bc/4-concurrency.md §4).
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from odata_query import ast
from werkzeug.wrappers import Response

from bcbridge.emulator.bc import odata
from bcbridge.emulator.bc._expand import expand, expandable
from bcbridge.emulator.bc._filter import equality_values, time_bounds
from bcbridge.emulator.bc._order import datetime_of_ms, high_key
from bcbridge.emulator.bc.schema import EntitySet, schema
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral
    from bcbridge.emulator.bc.routes import Target

__all__ = ["base_url", "entity_body", "get", "get_companies", "page_size", "type_map"]

LINES_ERROR = "You must specify an Id or a Document Id to get the lines."


def base_url(bc: BusinessCentral, request: Request) -> str:
    """Public BC origin: ``config.api_base_url`` unless unset (port 0), else the request's host."""
    configured = bc.emulator.config.api_base_url
    if configured and not configured.endswith(":0"):
        return configured
    return request.host_url.rstrip("/")


def type_map(es: EntitySet) -> dict[str, str]:
    return {f.name: f.type for f in es.fields}


def page_size(bc: BusinessCentral, request: Request, top: int | None) -> tuple[int, str | None]:
    """Records per page and the ``Preference-Applied`` value (docs/bc/3-odata-queries.md §3, §5).

    Raises:
        BCError: ``top_above_limit_status`` (413) when ``$top`` exceeds ``max_page_size``.
    """
    config = bc.emulator.config
    limit = config.max_page_size
    applied = None
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", request.headers.get("Prefer", ""))
    if match and int(match[1]) > 0:
        limit = min(limit, int(match[1]))
        applied = f"odata.maxpagesize={limit}"
    if top is not None and top > config.max_page_size and config.top_above_limit_status:
        raise BCError(config.top_above_limit_status, "Request_EntityTooLarge",
                      f"The requested page size {top} exceeds the maximum page size of "
                      f"{config.max_page_size} entities.")
    return limit, applied


def require_schema_version(bc: BusinessCentral) -> bool:
    """Whether ``in``/nested functions in ``$filter`` need ``$schemaversion=2.1`` (setting
    ``config.extra["require_schemaversion_2_1"]``, default True as DOCS say)."""
    return bool(bc.emulator.config.extra.get("require_schemaversion_2_1", True))


def get_companies(bc: BusinessCentral, request: Request, prefix: str,
                  company_id: str | None) -> Response:
    """``GET companies`` / ``companies({id})`` (docs/bc/2-urls.md §2.7)."""
    context = f"{base_url(bc, request)}{prefix}/$metadata#companies"
    es = schema()["companies"]
    records = [dict(c) for c in bc.companies()]
    if company_id is not None:
        record = next(r for r in records if r["id"] == company_id)
        etag = _company_etag(record)
        single = {"@odata.context": f"{context}/$entity", "@odata.etag": etag, **record}
        return json_response(single, headers={"ETag": etag})
    options = odata.parse_options(request.args, type_map(es), entity_type="Microsoft.NAV.company",
                                  reject_or_across_fields=bc.emulator.config
                                  .reject_or_across_fields)
    page = odata.run_query(lambda start: list(enumerate(records))[start:], options,
                           page_size=bc.emulator.config.max_page_size, types=type_map(es))
    body: dict = {"@odata.context": context}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = [odata.project({"@odata.etag": _company_etag(r), **r}, options.select,
                                   ("@odata.etag",)) for _, r in page.rows]
    return json_response(body)


def _company_etag(record: dict) -> str:
    from bcbridge.emulator.bc.etag import make_etag

    return make_etag(record["id"], int(record["timestamp"]), record["systemModifiedAt"])


def entity_body(bc: BusinessCentral, company_id: str, entity_set: str, ordinal: int,
                record: dict) -> dict:
    """``record`` with its ``@odata.etag`` first, as BC serialises an entity."""
    return {"@odata.etag": bc.store.etag_of(company_id, entity_set, ordinal, record), **record}


def _context(bc: BusinessCentral, request: Request, target: Target,
             select: list[str] | None) -> str:
    suffix = f"({','.join(select)})" if select and "*" not in select else ""
    return f"{base_url(bc, request)}{target.prefix}/$metadata#{target.context}{suffix}"


def get(bc: BusinessCentral, request: Request, target: Target, *, count_only: bool = False
        ) -> Response:
    """GET a collection, a single entity or ``/$count`` of an entity set."""
    store, config = bc.store, bc.emulator.config
    es = schema()[target.entity_set]
    types = type_map(es)
    options = odata.parse_options(request.args, types, entity_type=f"Microsoft.NAV.{es.entity}",
                                  navigations=expandable(es),
                                  reject_or_across_fields=config.reject_or_across_fields,
                                  require_schema_version=require_schema_version(bc))
    if target.key is not None:
        return _single(bc, request, target, options)
    parent_key = target.parent_key
    ids = equality_values(options.filter_node, "id")
    if parent_key is None and es.is_document_lines:
        document_ids = equality_values(options.filter_node, "documentId")
        if document_ids:
            parent_key = document_ids[0].lower()
        elif not ids and config.require_line_document_filter:
            raise BCError(400, "Application_DialogException", LINES_ERROR)
    limit, applied = page_size(bc, request, options.top)
    company_id, name = target.company_id, target.entity_set

    candidates = _generated_candidates(bc, target, es, options)

    def source(start: int) -> Iterator[tuple[int, dict]]:
        if ids and parent_key is None:  # a key lookup, not a scan
            ordinal = store.ordinal(company_id, name, ids[0])
            record = store.get(company_id, name, ids[0]) if ordinal is not None else None
            if record is not None and ordinal is not None and ordinal >= start:
                yield ordinal, record
            return
        yield from store.iter(company_id, name, start=start, parent_key=parent_key,
                              generated=candidates)

    total = store.count(company_id, name) if parent_key is None else None
    if count_only:
        counted = _range_count(bc, target, es, options, types) if parent_key is None and not ids \
            else None
        if counted is not None:
            return Response(str(counted), content_type="text/plain; charset=utf-8",
                            headers={"OData-Version": "4.0"})
        options.count, options.top, options.skip = True, 0, 0
        page = odata.run_query(source, options, page_size=0, types=types, total=total)
        return Response(str(page.count), content_type="text/plain; charset=utf-8",
                        headers={"OData-Version": "4.0"})
    with _gc_paused():
        return _collection(bc, request, target, options, source, limit, total, applied,
                           indexed=parent_key is None and not ids)


def _single(bc: BusinessCentral, request: Request, target: Target,
            options: odata.QueryOptions) -> Response:
    """GET one entity: ``$entity`` context, ``@odata.etag`` and an ``ETag`` header."""
    store, es = bc.store, schema()[target.entity_set]
    key = str(target.key)
    ordinal = store.ordinal(target.company_id, target.entity_set, key)
    record = store.get(target.company_id, target.entity_set, key)
    other_parent = target.parent_key is not None and es.parent is not None and \
        record is not None and str(record.get(es.parent[1])).lower() != target.parent_key
    if ordinal is None or record is None or other_parent:
        from bcbridge.emulator.bc.writes import record_not_found

        raise record_not_found(target.entity_set)
    body = entity_body(bc, target.company_id, target.entity_set, ordinal, record)
    etag = body["@odata.etag"]
    expand(bc, target.company_id, es, body, options)
    body = odata.project(body, options.select, ("@odata.etag", *[e.name for e in options.expand]))
    envelope = {"@odata.context": _context(bc, request, target, options.select) + "/$entity",
                **body}
    return json_response(envelope, headers={"ETag": etag})


@contextmanager
def _gc_paused() -> Iterator[None]:
    # A 20,000-record page allocates ~500,000 acyclic objects; the cyclic collector would
    # walk them dozens of times while they are built (measurably slower, nothing to free).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collection(bc: BusinessCentral, request: Request, target: Target,
                options: odata.QueryOptions, source: odata.RowSource, limit: int,
                total: int | None, applied: str | None, *, indexed: bool = False) -> Response:
    store = bc.store
    es = schema()[target.entity_set]
    company_id, name = target.company_id, target.entity_set
    types = type_map(es)
    order_index, seek = _order_index(bc, target, es, options, types) if indexed else (None, None)
    page = odata.run_query(source, options, page_size=limit, types=types, total=total,
                           fetch=lambda ordinal: store.record_at(company_id, name, ordinal),
                           order_index=order_index, seek=seek)
    body: dict = {"@odata.context": _context(bc, request, target, options.select)}
    if page.count is not None:
        body["@odata.count"] = page.count
    keep = ("@odata.etag", *[e.name for e in options.expand])
    values = []
    etag = store.etagger(company_id, name)
    for ordinal, record in page.rows:
        entity = {"@odata.etag": etag(ordinal, record), **record}
        if options.expand:
            expand(bc, company_id, es, entity, options)
        values.append(odata.project(entity, options.select, keep))
    body["value"] = values
    records = len(values)
    for name in (e.name for e in options.expand):
        records += sum(len(v.get(name) or ()) for v in values if isinstance(v.get(name), list))
    if page.next_token:
        body["@odata.nextLink"] = _next_link(bc, request, page.next_token)
    headers = {"Preference-Applied": applied} if applied else None
    response = json_response(body, headers=headers)
    response.bc_records = records  # type: ignore[attr-defined]  # the guard's server time
    return response


def _order_index(bc: BusinessCentral, target: Target, es: EntitySet,
                 options: odata.QueryOptions, types: dict) -> tuple:
    """``(order_index, seek)`` for :func:`odata.run_query`: the store's sorted key index of
    the set (generated timestamps keyed without building records), and the bounds a
    ``lastModifiedDateTime`` filter puts on an ascending first ``$orderby`` field."""
    if not options.orderby:
        return None, None
    store, company_id, name = bc.store, target.company_id, target.entity_set
    base = store.state(company_id, name).base
    fast = None
    if len(options.orderby) == 1 and options.orderby[0][0] == es.modified_field and \
            base.modified_ms is not None and types.get(es.modified_field) == "datetime":
        key = odata._sort_key(options.orderby, types)
        stamp = base.modified_ms

        def fast(ordinal: int) -> tuple:
            return key([datetime_of_ms(stamp(ordinal))], ordinal)

    def order_index(orderby: tuple, key_of: Callable) -> list:
        return store.order_index(company_id, name, orderby, key_of, fast)

    seek = None
    field = options.orderby[0][0]
    if types.get(field) == "datetime" and options.filter_node is not None:
        low = high = None
        for op, value in time_bounds(options.filter_node, field):
            moment = datetime_of_ms(round(value))
            if op in ("gt", "ge", "eq") and (low is None or moment > low):
                low = moment
            if op in ("lt", "le", "eq") and (high is None or moment < high):
                high = moment
        seek = (low, high)
    return order_index, seek


def _conjuncts(node: Any) -> int:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return 1


def _range_count(bc: BusinessCentral, target: Target, es: EntitySet,
                 options: odata.QueryOptions, types: dict) -> int | None:
    """``/$count`` of a filter made only of bounds on ``lastModifiedDateTime``, by bisecting
    the set's sorted index (what a partitioned sync asks per range); ``None`` otherwise."""
    field = es.modified_field
    if field is None or options.filter_node is None or types.get(field) != "datetime":
        return None
    bounds = time_bounds(options.filter_node, field)
    if not bounds or len(bounds) != _conjuncts(options.filter_node):
        return None
    ordered = odata.QueryOptions(orderby=[(field, False)])
    order_index, _ = _order_index(bc, target, es, ordered, types)
    key = odata._sort_key(ordered.orderby, types)
    entries = order_index(tuple(ordered.orderby), lambda record, ordinal: key(
        [odata._coerce(record.get(field), "datetime")], ordinal))
    start, end = 0, len(entries)
    for op, value in bounds:
        moment = datetime_of_ms(round(value))
        below = bisect_left(entries, ((True, moment),))  # first entry >= moment
        above = bisect_right(entries, high_key(moment))  # first entry > moment
        if op in ("ge", "eq"):
            start = max(start, below)
        if op == "gt":
            start = max(start, above)
        if op in ("le", "eq"):
            end = min(end, above)
        if op == "lt":
            end = min(end, below)
    return max(0, end - start)


def _generated_candidates(bc: BusinessCentral, target: Target, es: EntitySet,
                          options: odata.QueryOptions) -> list[int] | None:
    """Generated ordinals a ``lastModifiedDateTime`` filter can match, from the timestamp
    index (incremental sync over a million records without building each one)."""
    if es.modified_field is None or options.filter_node is None:
        return None
    bounds = time_bounds(options.filter_node, es.modified_field)
    if not bounds:
        return None
    low = high = None
    low_inclusive = high_inclusive = True
    for op, value in bounds:
        if op in ("gt", "ge", "eq") and (low is None or value >= low):
            low, low_inclusive = value, op != "gt"
        if op in ("lt", "le", "eq") and (high is None or value <= high):
            high, high_inclusive = value, op != "lt"
    base = bc.store.state(target.company_id, target.entity_set).base
    return base.modified_between(low, high, low_inclusive=low_inclusive,
                                 high_inclusive=high_inclusive)


def _next_link(bc: BusinessCentral, request: Request, token: str) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
    args.append(("$skiptoken", token))
    query = urlencode(args, safe="$,()'=:", quote_via=quote)
    return f"{base_url(bc, request)}{request.path}?{query}"
