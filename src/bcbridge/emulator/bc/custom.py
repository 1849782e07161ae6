"""Custom APIs: ``/api/{publisher}/{group}/{version}/...`` (docs/bc/2-urls.md §2.2).

The emulator publishes one, the warehouse API of seed 000's use case ("fetch warehouse
shipments, get and update pick details, register shipment picks, post warehouse
shipments"), shaped like an AL API page pair over BaseApp's Warehouse Shipment Header /
Line (see :mod:`._custom_warehouse` for the data):

* ``GET  api/contoso/warehouse/v1.0`` (service document), ``.../$metadata``, ``.../$batch``,
  ``.../companies``;
* ``GET  .../companies({id})/warehouseShipments[({id})]`` with ``$filter``, ``$select``,
  ``$orderby``, ``$top``, ``$skip``, ``$count``, ``$expand=warehouseShipmentLines`` and
  server-driven paging (the API v2.0 engine of :mod:`.odata`);
* ``GET  .../warehouseShipments({id})/warehouseShipmentLines[({id})]`` and the top-level
  ``.../warehouseShipmentLines[({id})]``;
* ``PATCH .../warehouseShipmentLines({id})`` with ``{"quantityToShip": n}`` and
  ``If-Match`` (missing -> 400 ``BadRequest_InvalidToken``; stale ->
  ``Request_EntityChanged``, ``config.etag_mismatch_status``);
* ``POST .../warehouseShipments({id})/Microsoft.NAV.registerPick`` and
  ``.../Microsoft.NAV.post`` -> 204 (post creates the posted salesShipment of API v2.0).

Unknown routes, entity sets and actions are 404 ``BadRequest_ResourceNotFound``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc import _custom_warehouse as wh
from bcbridge.emulator.bc import odata
from bcbridge.emulator.bc._custom_metadata import metadata_response, service_document
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["ROUTES", "handle"]

#: Published custom API routes: (publisher, group, version).
ROUTES = frozenset({("contoso", "warehouse", "v1.0")})
_SEGMENT = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHIPMENTS, LINES = "warehouseShipments", "warehouseShipmentLines"


def _not_found(segment: str) -> BCError:
    return BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'.")


def _record_not_found() -> BCError:
    return BCError(404, "BadRequest_NotFound", "The specified resource was not found.")


def _key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip().strip("'").lower()
    if not _GUID.match(key):
        raise BCError(
            400,
            "BadRequest_NotFound",
            f"Bad Request - Error in query syntax. The key '{raw}' is not a valid GUID.",
        )
    return key


def handle(bc: Any, request: Request, publisher: str, group: str, version: str, rest_path: str) -> Response:
    """Answer one request under ``api/{publisher}/{group}/{version}/``.

    Raises:
        BCError: 404 for unknown routes, sets, keys and actions; 400/409 for invalid writes;
            405 for methods a set does not allow.
    """
    if (publisher, group, version) not in ROUTES:
        raise _not_found(publisher if (publisher, group) != ("contoso", "warehouse") else version)
    marker = f"/api/{publisher}/{group}/{version}"
    prefix = request.path[: request.path.index(marker) + len(marker)]
    segments = [s for s in rest_path.split("/") if s]
    if not segments:
        return service_document(bc, request, prefix)
    if segments == ["$metadata"]:
        return metadata_response()
    if segments == ["$batch"]:
        from bcbridge.emulator.bc.batch import handle_batch

        return handle_batch(bc, request, prefix)
    parsed = []
    for segment in segments:
        match = _SEGMENT.match(segment)
        if not match:
            raise _not_found(segment)
        parsed.append((match[1], match[2]))
    from bcbridge.emulator.bc import reads, routes

    if parsed[0][0] == "companies":
        if parsed[0][1] is None:
            if len(parsed) > 1:
                raise _not_found(parsed[1][0])
            return reads.get_companies(bc, request, prefix, None)
        company_id = _key(parsed[0][1])
        if not any(c["id"] == company_id for c in bc.companies()):
            raise _record_not_found()
        if len(parsed) == 1:
            return reads.get_companies(bc, request, prefix, company_id)
        context, parsed = f"companies({company_id})/", parsed[1:]
    else:
        company_id = routes.resolve_company(bc, request.args.get("company"))
        context = ""
    return _entity(bc, request, prefix, str(company_id), context, parsed)


def _entity(
    bc: Any,
    request: Request,
    prefix: str,
    company_id: str,
    context: str,
    parsed: list[tuple[str, str | None]],
) -> Response:
    name, raw = parsed[0]
    if name not in (SHIPMENTS, LINES):
        raise _not_found(name)
    key = _key(raw)
    store = bc.store
    entity_set, parent = name, None
    context += name
    action = None
    for index, (segment, raw_child) in enumerate(parsed[1:], start=1):
        last = index == len(parsed) - 1
        if entity_set == SHIPMENTS and key is not None and segment == LINES:
            parent, entity_set, key = key, LINES, _key(raw_child)
            context += f"({parent})/{LINES}"
        elif last and key is not None and segment.startswith("Microsoft.NAV."):
            action = segment[len("Microsoft.NAV.") :]
        else:
            raise _not_found(segment)
    method = request.method.upper()
    if action is not None:
        if method != "POST":
            raise _method_not_allowed(method, entity_set)
        return _action(store, company_id, entity_set, str(key), action)
    if method == "GET":
        return _get(bc, request, prefix, company_id, context, entity_set, key, parent)
    if method == "PATCH" and entity_set == LINES and key is not None:
        return _patch_line(bc, request, prefix, company_id, context, key, parent)
    raise _method_not_allowed(method, entity_set)


def _method_not_allowed(method: str, what: str) -> BCError:
    return BCError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{what}' of EdmType 'Entity' are not allowed "
        "within Microsoft Dynamics NAV OData web services.",
    )


def _lines_of(store: Any, company_id: str, parent: str | None) -> list[dict[str, Any]]:
    found = wh.shipments(store, company_id)
    return [line for header, lines in found for line in lines if parent is None or header["id"] == parent]


def _get(
    bc: Any,
    request: Request,
    prefix: str,
    company_id: str,
    context: str,
    entity_set: str,
    key: str | None,
    parent: str | None,
) -> Response:
    from bcbridge.emulator.bc.reads import base_url, page_size

    store, config = bc.store, bc.emulator.config
    shipments = entity_set == SHIPMENTS
    types = wh.HEADER_TYPES if shipments else wh.LINE_TYPES
    entity_type = "Microsoft.NAV.warehouseShipment" if shipments else "Microsoft.NAV.warehouseShipmentLine"
    options = odata.parse_options(
        request.args,
        types,
        entity_type=entity_type,
        navigations=[LINES] if shipments else [],
        reject_or_across_fields=config.reject_or_across_fields,
    )
    if parent is not None and wh.shipment(store, company_id, parent) is None:
        raise _record_not_found()
    if shipments:
        found = wh.shipments(store, company_id)
        records = [(wh.public(header), [wh.public(line) for line in lines]) for header, lines in found]
    else:
        records = [(wh.public(line), []) for line in _lines_of(store, company_id, parent)]
    base = f"{base_url(bc, request)}{prefix}/$metadata#{context}"
    if key is not None:
        match = next(((r, lines) for r, lines in records if r["id"] == key), None)
        if match is None:
            raise _record_not_found()
        body = _shape(match[0], match[1], options, config)
        return json_response(
            {"@odata.context": f"{base}/$entity", **body},
            headers={"ETag": str(match[0]["@odata.etag"])},
        )
    limit, applied = page_size(bc, request, options.top)
    page = odata.run_query(
        lambda start: ((i, records[i][0]) for i in range(start, len(records))),
        options,
        page_size=limit,
        types=types,
        total=len(records),
    )
    envelope: dict[str, object] = {"@odata.context": base}
    if page.count is not None:
        envelope["@odata.count"] = page.count
    envelope["value"] = [_shape(records[i][0], records[i][1], options, config) for i, _ in page.rows]
    if page.next_token:
        args = {k: v for k, v in request.args.items() if k != "$skiptoken"}
        args["$skiptoken"] = page.next_token
        query = urlencode(args, safe="$,()'=:")
        envelope["@odata.nextLink"] = f"{base_url(bc, request)}{request.path}?{query}"
    return json_response(envelope, headers={"Preference-Applied": applied} if applied else None)


def _shape(
    record: dict[str, Any], lines: list[dict[str, Any]], options: odata.QueryOptions, config: Any
) -> dict[str, Any]:
    body = dict(record)
    for expand in options.expand:
        nested = odata.parse_options(
            expand.options,
            wh.LINE_TYPES,
            entity_type="Microsoft.NAV.warehouseShipmentLine",
            reject_or_across_fields=config.reject_or_across_fields,
        )
        chosen = [line for line in lines if nested.filter is None or nested.filter(line)]
        body[expand.name] = [odata.project(line, nested.select, ("@odata.etag",)) for line in chosen]
    return odata.project(body, options.select, ("@odata.etag", *[e.name for e in options.expand]))


def _patch_line(
    bc: Any,
    request: Request,
    prefix: str,
    company_id: str,
    context: str,
    key: str,
    parent: str | None,
) -> Response:
    from bcbridge.emulator.bc.etag import matches
    from bcbridge.emulator.bc.reads import base_url

    store = bc.store
    try:
        body = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError:
        raise BCError(400, "BadRequest", "Invalid Request Body") from None
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    with store.lock:
        found = wh.find_line(store, company_id, key)
        if found is None or (parent is not None and found[0][0]["id"] != parent):
            raise _record_not_found()
        line = found[1]
        if_match = request.headers.get("If-Match")
        if not if_match:
            raise BCError(
                400,
                "BadRequest_InvalidToken",
                "Could not validate the client concurrency token required by the "
                "service. Please provide a valid token in the client request.",
            )
        if not matches(if_match, wh.public(line)["@odata.etag"]):
            raise BCError(
                bc.emulator.config.etag_mismatch_status,
                "Request_EntityChanged",
                "Another user has already changed the record.",
            )
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name not in wh.LINE_TYPES:
                raise BCError(
                    400,
                    "BadRequest",
                    f"The property '{name}' does not exist on type "
                    "'Microsoft.NAV.warehouseShipmentLine'. Make sure to only use "
                    "property names that are defined by the type.",
                )
            if name not in wh.EDITABLE_LINE_FIELDS and value != line.get(name):
                raise BCError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
        if "quantityToShip" in body:
            wh.set_quantity_to_ship(store, company_id, line, body["quantityToShip"])
        updated = wh.find_line(store, company_id, key)
    if updated is None:  # pragma: no cover - the line cannot vanish under the lock
        raise _record_not_found()
    entity = wh.public(updated[1])
    envelope = {
        "@odata.context": f"{base_url(bc, request)}{prefix}/$metadata#{context}/$entity",
        **entity,
    }
    return json_response(envelope, headers={"ETag": str(entity["@odata.etag"])})


def _action(store: Any, company_id: str, entity_set: str, key: str, action: str) -> Response:
    if entity_set != SHIPMENTS or action not in ("registerPick", "post"):
        raise _not_found(f"Microsoft.NAV.{action}")
    with store.lock:
        found = wh.shipment(store, company_id, key)
        if found is None:
            raise _record_not_found()
        if action == "registerPick":
            wh.register_pick(store, company_id, found)
        else:
            wh.post(store, company_id, found)
    return Response(status=204, headers={"OData-Version": "4.0"})
