"""OData v4 web services: ``/v2.0/{tenant}/{environment}/ODataV4/...`` (docs/bc/2-urls.md §2.3).

URL shapes:

* ``ODataV4/`` (service document), ``ODataV4/$metadata`` (EDMX), ``ODataV4/Company``
  (the companies, BC's Company table fields);
* ``ODataV4/Company('{name}')/{Service}[({key})][/$count]`` or
  ``ODataV4/{Service}[({key})]?company={name or id}`` for the pages and the query of
  :mod:`._ws_pages`; keys are the page's key fields: ``ItemCard('1000')``,
  ``SalesOrders(Document_Type='Order',No='S-ORD101001')``;
* ``POST ODataV4/$batch`` (JSON batch, :mod:`.batch`; an inner ``Company`` header becomes
  ``?company=``);
* ``POST ODataV4/{Codeunit}_{Procedure}?company=...`` for the codeunits of
  :mod:`._ws_codeunits` (``APICodeunits_GetNextSalesOrderNo``, ...).

Collections support ``$filter``, ``$select``, ``$orderby``, ``$top``, ``$skip``, ``$count``
and server-driven paging (``Prefer: odata.maxpagesize``) via :mod:`.odata`. Responses carry
``@odata.context`` under ``ODataV4/$metadata#Company('{name}')/{Service}`` and, for pages,
``@odata.etag`` in BC's page format. PATCH (``If-Match`` required), POST (ItemCard,
CustomerCard) and DELETE write the same store records API v2.0 serves.

Errors: unknown service or segment -> 404 ``BadRequest_ResourceNotFound``; unknown key ->
404 ``BadRequest_NotFound``; writes to a query or a static page -> 405
``BadRequest_MethodNotAllowed``; ``If-Match`` missing -> 400 ``BadRequest_InvalidToken``,
stale -> ``Request_EntityChanged`` (``config.etag_mismatch_status``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc import odata
from bcbridge.emulator.bc._ws_codeunits import CODEUNITS
from bcbridge.emulator.bc._ws_data import find_row, parse_key, rows, split_body
from bcbridge.emulator.bc._ws_metadata import (
    COMPANY_TYPES,
    company_rows,
    metadata_response,
    service_document,
)
from bcbridge.emulator.bc._ws_pages import PAGES, WsContext, WsPage, extension_values
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["handle"]

_SEGMENT = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$")


def _not_found(segment: str) -> BCError:
    return BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'.")


def _not_allowed(method: str, name: str) -> BCError:
    return BCError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{name}' of EdmType 'EntitySet' are not allowed "
        "within Microsoft Dynamics NAV OData web services.",
    )


def _company_arg(request: Request) -> str | None:
    # Seed 000 builds "...?Company=<name>"; query option names are matched case-insensitively.
    return next((v for k, v in request.args.items() if k.lower() == "company"), None)


class _Call:
    """One resolved ODataV4 request: company, base URL and the context prefix."""

    def __init__(self, bc: Any, request: Request, base: str, company: str | None, in_path: bool) -> None:
        from bcbridge.emulator.bc.routes import resolve_company

        self.bc, self.request, self.base = bc, request, base
        self.company_id = resolve_company(bc, company)
        record = next(c for c in bc.companies() if c["id"] == self.company_id)
        self.company_name = str(record["name"])
        self.context_prefix = f"{base}/$metadata#" + (
            f"Company('{quote(self.company_name, safe='')}')/" if in_path else ""
        )


def handle(bc: Any, request: Request, rest_path: str) -> Response:
    """Answer one request under ``.../ODataV4/`` (``rest_path`` is the part after it)."""
    from bcbridge.emulator.bc.reads import base_url

    path = request.path
    base = base_url(bc, request) + path[: path.index("/ODataV4") + len("/ODataV4")]
    segments = [s for s in rest_path.split("/") if s]
    if not segments:
        return service_document(base)
    if segments == ["$metadata"]:
        return metadata_response()
    if segments == ["$batch"]:
        from bcbridge.emulator.bc.batch import handle_batch

        return handle_batch(bc, request, path[: path.index("/ODataV4") + len("/ODataV4")])
    company, in_path = _company_arg(request), False
    first = _SEGMENT.match(segments[0])
    if first and first[1] == "Company":
        if first[2] is None and len(segments) == 1:
            return _companies(bc, request, base)
        if first[2] is None:
            raise _not_found(segments[1])
        company, in_path = first[2].strip().strip("'").replace("''", "'"), True
        segments = segments[1:]
        if not segments:
            return _companies(bc, request, base, company)
    match = _SEGMENT.match(segments[0])
    if not match:
        raise _not_found(segments[0])
    name, raw_key = match[1], match[2]
    if name in CODEUNITS and raw_key is None and len(segments) == 1:
        return _codeunit(_Call(bc, request, base, company, in_path), name)
    page = PAGES.get(name)
    if page is None:
        raise _not_found(name)
    call = _Call(bc, request, base, company, in_path)
    count = False
    if len(segments) == 2 and segments[1] == "$count" and raw_key is None:
        count = True
    elif len(segments) > 1:
        raise _not_found(segments[1])
    method = request.method.upper()
    if method == "GET":
        return _get(call, page, raw_key, count)
    if count or page.entity_set is None:
        raise _not_allowed(method, name)
    if method == "POST" and raw_key is None and page.creatable:
        return _post(call, page)
    if method == "PUT" and bc.emulator.config.put_status:
        raise _not_allowed(method, name)
    if method in ("PATCH", "PUT") and raw_key is not None:
        return _patch(call, page, raw_key)
    if method == "DELETE" and raw_key is not None and page.deletable:
        return _delete(call, page, raw_key)
    raise _not_allowed(method, name)


def _companies(bc: Any, request: Request, base: str, name: str | None = None) -> Response:
    records = company_rows(bc)
    if name is not None:
        wanted = name.lower()
        match = next((r for r in records if wanted in (r["Name"].lower(), r["Id"])), None)
        if match is None:
            raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
        return json_response({"@odata.context": f"{base}/$metadata#Company/$entity", **match})
    page = odata.query_records(records, request.args, COMPANY_TYPES, entity_type="NAV.Company")
    return json_response({"@odata.context": f"{base}/$metadata#Company", "value": [r for _, r in page.rows]})


def _get(call: _Call, page: WsPage, raw_key: str | None, count: bool) -> Response:
    from bcbridge.emulator.bc.reads import page_size

    bc, request = call.bc, call.request
    ctx = WsContext(bc, call.company_id)
    context = call.context_prefix + page.name
    options = odata.parse_options(
        request.args,
        page.types,
        entity_type=f"NAV.{page.name}",
        reject_or_across_fields=bc.emulator.config.reject_or_across_fields,
    )
    if raw_key is not None:
        body, _ = find_row(page, ctx, parse_key(page, raw_key))
        body = odata.project(body, options.select, ("@odata.etag",))
        headers = {"ETag": str(body["@odata.etag"])} if "@odata.etag" in body else None
        return json_response({"@odata.context": f"{context}/$entity", **body}, headers=headers)
    records = [body for body, _ in rows(page, ctx)]

    def source(start: int):  # type: ignore[no-untyped-def]
        return ((i, records[i]) for i in range(start, len(records)))

    if count:
        options.count, options.top, options.skip = True, 0, 0
        result = odata.run_query(source, options, page_size=0, types=page.types, total=len(records))
        return Response(
            str(result.count),
            content_type="text/plain; charset=utf-8",
            headers={"OData-Version": "4.0"},
        )
    limit, applied = page_size(bc, request, options.top)
    result = odata.run_query(source, options, page_size=limit, types=page.types, total=len(records))
    envelope: dict[str, object] = {"@odata.context": context}
    if result.count is not None:
        envelope["@odata.count"] = result.count
    envelope["value"] = [odata.project(r, options.select, ("@odata.etag",)) for _, r in result.rows]
    if result.next_token:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
        args.append(("$skiptoken", result.next_token))
        host = call.base[: len(call.base) - len(request.path[: request.path.index("/ODataV4") + 8])]
        envelope["@odata.nextLink"] = f"{host}{quote(request.path, safe='/()=,$:')}?{urlencode(args, safe='$,()=:')}"
    return json_response(envelope, headers={"Preference-Applied": applied} if applied else None)


def _body(request: Request) -> object:
    try:
        return orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError:
        raise BCError(400, "BadRequest", "Invalid Request Body") from None


def _check_if_match(call: _Call, current: dict[str, Any]) -> None:
    from bcbridge.emulator.bc.etag import matches

    if_match = call.request.headers.get("If-Match")
    if not if_match:
        raise BCError(
            400,
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by the service. "
            "Please provide a valid token in the client request.",
        )
    if not matches(if_match, str(current.get("@odata.etag", ""))):
        raise BCError(
            call.bc.emulator.config.etag_mismatch_status,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        )


def _entity(call: _Call, page: WsPage, record_id: str, status: int = 200) -> Response:
    ctx = WsContext(call.bc, call.company_id)
    body = next((b for b, r in rows(page, ctx) if r is not None and str(r["id"]) == record_id), None)
    if body is None:  # pragma: no cover - the record was just written
        raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
    return json_response(
        {"@odata.context": f"{call.context_prefix}{page.name}/$entity", **body},
        status=status,
        headers={"ETag": str(body["@odata.etag"])},
    )


def _patch(call: _Call, page: WsPage, raw_key: str) -> Response:
    store = call.bc.store
    assert page.entity_set is not None
    with store.lock:
        current, record = find_row(page, WsContext(call.bc, call.company_id), parse_key(page, raw_key))
        assert record is not None
        _check_if_match(call, current)
        api, extension = split_body(page, _body(call.request), current)
        record_id = str(record["id"])
        if api:
            call.bc.change(call.company_id, page.entity_set, record_id, api)
        if extension:
            extension_values(store, call.company_id, page.name, record_id).update(extension)
            if not api:  # a table-extension field is part of the record: new ETag, new time
                store.update(call.company_id, page.entity_set, record_id, {})
    return _entity(call, page, record_id)


def _post(call: _Call, page: WsPage) -> Response:
    assert page.entity_set is not None
    api, extension = split_body(page, _body(call.request), None)
    created = call.bc.create(call.company_id, page.entity_set, api)
    record_id = str(created["id"])
    if extension:
        extension_values(call.bc.store, call.company_id, page.name, record_id).update(extension)
    return _entity(call, page, record_id, status=201)


def _delete(call: _Call, page: WsPage, raw_key: str) -> Response:
    assert page.entity_set is not None
    with call.bc.store.lock:
        current, record = find_row(page, WsContext(call.bc, call.company_id), parse_key(page, raw_key))
        assert record is not None
        _check_if_match(call, current)
        call.bc.delete(call.company_id, page.entity_set, str(record["id"]))
    return Response(status=204, headers={"OData-Version": "4.0"})


def _codeunit(call: _Call, name: str) -> Response:
    if call.request.method.upper() != "POST":
        raise BCError(
            405,
            "BadRequest_MethodNotAllowed",
            f"'{call.request.method.upper()}' requests for '{name}' of EdmType 'Action' are "
            "not allowed within Microsoft Dynamics NAV OData web services.",
        )
    body = _body(call.request)
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    edm_type, value = CODEUNITS[name](call.bc, call.company_id, body)
    return json_response({"@odata.context": f"{call.base}/$metadata#{edm_type}", "value": value})
