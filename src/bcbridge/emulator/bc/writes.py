"""POST, PATCH and DELETE of API v2.0 entities, and the same changes from Python.

HTTP (docs/bc/4-concurrency.md §4, §10; Microsoft Learn ``api/*_create.md``, ``_update.md``, ``_delete.md``):

* ``POST {set}`` -> 201 with the full entity, ``@odata.etag``, ``ETag`` and ``Location``.
  Numbers come from the set's number series; id/number pairs are filled; a document may
  carry its lines (deep insert, e.g. ``salesOrders`` with ``salesOrderLines: [...]``) and its
  totals are the sums of its lines. Sales documents need a customer ("A customerNumber or a
  customerID must be provided.", ``Application_DialogException``).
* ``PATCH {set}({id})`` -> 200 with the full entity. ``If-Match`` is required: missing ->
  400 ``BadRequest_InvalidToken``; stale -> ``Request_EntityChanged`` with
  ``config.etag_mismatch_status`` (409); ``*`` skips the check.
* ``DELETE {set}({id})`` -> 204, ``If-Match`` as PATCH.
* Lines (AL ``APIV2SalesOrderLines.Page.al``): ``documentId`` and ``sequence`` can't change
  after insert; ``itemId`` and ``accountId`` can't both be given.

Every write stamps ``lastModifiedDateTime`` and changes the ETag; a line write also changes
its document's (done by the store).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc._derive import derive
from bcbridge.emulator.bc._validate import validate_body
from bcbridge.emulator.bc.etag import matches
from bcbridge.emulator.bc.reads import base_url, entity_body
from bcbridge.emulator.bc.schema import BLANK_DATE, BLANK_GUID, EntitySet, schema
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral
    from bcbridge.emulator.bc.routes import Target

__all__ = ["change", "create", "delete", "patch", "post", "record_not_found", "remove"]

_CUSTOMER_DOCS = {"salesOrders", "salesInvoices", "salesQuotes", "salesCreditMemos",
                  "salesShipments"}
_VENDOR_DOCS = {"purchaseInvoices", "purchaseOrders"}
_NUMBERED = {"salesOrders", "salesInvoices", "salesQuotes", "salesCreditMemos",
             "salesShipments", "purchaseInvoices", "purchaseOrders", "items", "customers",
             "vendors", "employees"}
_DRAFT = {"salesOrders": "Draft", "salesInvoices": "Draft", "purchaseInvoices": "Draft",
          "salesQuotes": "Draft", "salesCreditMemos": "Draft", "purchaseOrders": "Draft"}
_TODAY_FIELDS = ("orderDate", "postingDate", "invoiceDate", "documentDate", "creditMemoDate")
_NOT_MODIFIABLE = {"documentId": 'The value for "documentId" cannot be modified.',
                   "sequence": "The value for sequence cannot be modified. Delete and insert "
                               "the line again."}


def record_not_found(entity_set: str) -> BCError:
    """404 for an id that does not exist (``BadRequest_NotFound``; docs/bc/8-errors.md §8, UNVERIFIED)."""
    return BCError(404, "BadRequest_NotFound", "The specified resource was not found.")


def _company(bc: BusinessCentral, company_id: str, entity_set: str) -> EntitySet:
    company_id = company_id.lower()
    if company_id not in bc.store.companies:
        raise BCError(400, "Internal_CompanyNotFound",
                      f"The company '{company_id}' does not exist.")
    es = schema().get(entity_set)
    if es is None or entity_set == "companies":
        raise BCError(404, "BadRequest_ResourceNotFound",
                      f"Resource not found for the segment '{entity_set}'.")
    return es


def _enum_code(bc: BusinessCentral) -> str:
    return str(bc.emulator.config.extra.get("enum_error_code", "Unknown"))


def create(bc: BusinessCentral, company_id: str, entity_set: str, body: dict, *,
           enforce_read_only: bool = True, parent_key: str | None = None) -> dict:
    """Insert a record (and deep-inserted children); returns the entity with ``@odata.etag``.

    Raises:
        BCError: 400 for invalid values, read-only fields (when enforced), missing customer
            or vendor on documents, unknown references.
    """
    es = _company(bc, company_id, entity_set)
    config, store = bc.emulator.config, bc.store
    values, nested = validate_body(es, body, enforce_read_only=enforce_read_only,
                                   reject_read_only=config.reject_read_only_writes,
                                   enum_code=_enum_code(bc), allowed_extra=set(es.children))
    if es.parent is not None and parent_key is not None:
        values[es.parent[1]] = parent_key
    with store.lock:
        # savepoint of just the sets a deep insert touches: the header's and its lines'
        touched = [(company_id, entity_set), *((company_id, es.children[nav]) for nav in nested)]
        snapshot = store.snapshot(touched) if nested else None
        try:
            record = _new_record(bc, company_id, es, values)
            stored = store.insert(company_id, entity_set, record)
            for nav, lines in nested.items():
                for line in lines:
                    create(bc, company_id, es.children[nav], line,
                           enforce_read_only=enforce_read_only, parent_key=stored["id"])
        except BCError:
            if snapshot is not None:
                store.restore(snapshot)
            raise
        ordinal = store.ordinal(company_id, entity_set, stored["id"])
        result = entity_body(bc, company_id, entity_set, int(ordinal or 0),
                             store.get(company_id, entity_set, stored["id"]) or stored)
        for nav in nested:
            child = es.children[nav]
            result[nav] = [entity_body(bc, company_id, child, o, r)
                           for o, r in store.iter(company_id, child, parent_key=stored["id"])]
        return result


def _new_record(bc: BusinessCentral, company_id: str, es: EntitySet, values: dict) -> dict:
    store = bc.store
    record: dict[str, Any] = {f.name: f.blank() for f in es.fields}
    today = bc.emulator.clock.now().date().isoformat()
    for name in _TODAY_FIELDS:
        if name in record:
            record[name] = today
    if es.name in _DRAFT:
        record["status"] = _DRAFT[es.name]
    if es.name == "items":
        record["type"] = "Inventory"
    if es.name == "customers":
        record["type"] = "Company"
    if es.name in ("employees",):
        record["status"] = "Active"
    record.update(values)
    if es.name in _CUSTOMER_DOCS and es.name != "salesShipments" and \
            record.get("customerId", BLANK_GUID) == BLANK_GUID and not record.get("customerNumber"):
        raise BCError(400, "Application_DialogException",
                      "A customerNumber or a customerID must be provided.")
    if es.name in _VENDOR_DOCS and record.get("vendorId", BLANK_GUID) == BLANK_GUID and \
            not record.get("vendorNumber"):
        raise BCError(400, "Application_DialogException",
                      "A vendorNumber or a vendorID must be provided.")
    derive(store, company_id, es, record, values)
    if es.parent is not None:
        parent_set, fk = es.parent
        if store.ordinal(company_id, parent_set, str(record.get(fk, ""))) is None:
            raise BCError(400, "Application_DialogException",
                          f"You must specify a {fk} to create a {es.entity}.")
        if "sequence" in record and not record["sequence"]:
            existing = [r.get("sequence", 0) for _, r in
                        store.iter(company_id, es.name, parent_key=record[fk])]
            record["sequence"] = (max(existing, default=0) // 10000 + 1) * 10000
        if "lineNumber" in record and not record["lineNumber"]:
            existing = [r.get("lineNumber", 0) for _, r in
                        store.iter(company_id, es.name, parent_key=record[fk])]
            record["lineNumber"] = (max(existing, default=0) // 10000 + 1) * 10000
    if es.name in _NUMBERED and not record.get("number"):
        record["number"] = store.next_number(company_id, es.name)
    if es.name == "generalLedgerEntries" and not record.get("entryNumber"):
        record["entryNumber"] = int(store.next_number(company_id, es.name))
    if "dueDate" in record and record["dueDate"] == BLANK_DATE and "postingDate" in record:
        record["dueDate"] = (date.fromisoformat(record["postingDate"])).isoformat()
    return record


def change(bc: BusinessCentral, company_id: str, entity_set: str, key: str, changes: dict, *,
           enforce_read_only: bool = True) -> dict:
    """Change a record; returns the entity with its new ``@odata.etag``.

    Raises:
        BCError: 404 for an unknown key; 400 for invalid values or line rules.
    """
    es = _company(bc, company_id, entity_set)
    store = bc.store
    with store.lock:
        current = store.get(company_id, entity_set, key)
        if current is None:
            raise record_not_found(entity_set)
        values, _ = validate_body(es, changes, enforce_read_only=enforce_read_only,
                                  reject_read_only=bc.emulator.config.reject_read_only_writes,
                                  enum_code=_enum_code(bc), allowed_extra=set(), current=current)
        if es.parent is not None:
            for name, message in _NOT_MODIFIABLE.items():
                if name in values and str(values[name]).lower() != str(current.get(name)).lower():
                    raise BCError(400, "Application_DialogException", message)
        values.pop("id", None)
        record = dict(current)
        record.update(values)
        derive(store, company_id, es, record, values)
        updated = store.update(company_id, entity_set, key,
                               {k: v for k, v in record.items() if current.get(k) != v})
        ordinal = store.ordinal(company_id, entity_set, key)
        return entity_body(bc, company_id, entity_set, int(ordinal or 0), updated)


def remove(bc: BusinessCentral, company_id: str, entity_set: str, key: str) -> None:
    """Delete a record; 404 ``BadRequest_NotFound`` when absent."""
    _company(bc, company_id, entity_set)
    try:
        bc.store.remove(company_id, entity_set, key)
    except KeyError:
        raise record_not_found(entity_set) from None


def _json(request: Request) -> object:
    try:
        return orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError:
        raise BCError(400, "BadRequest", "Invalid Request Body") from None


def _check_if_match(bc: BusinessCentral, request: Request, target: Target) -> None:
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise BCError(400, "BadRequest_InvalidToken",
                      "Could not validate the client concurrency token required by the "
                      "service. Please provide a valid token in the client request.")
    key = str(target.key)
    if bc.store.ordinal(target.company_id, target.entity_set, key) is None:
        raise record_not_found(target.entity_set)
    if not matches(if_match, bc.store.etag(target.company_id, target.entity_set, key)):
        raise BCError(bc.emulator.config.etag_mismatch_status, "Request_EntityChanged",
                      "Another user has already changed the record.")


def _check_parent(bc: BusinessCentral, target: Target) -> None:
    es = schema()[target.entity_set]
    if target.parent_key and target.key and es.parent:
        record = bc.store.get(target.company_id, target.entity_set, target.key)
        if record is None or str(record.get(es.parent[1])).lower() != target.parent_key:
            raise record_not_found(target.entity_set)


def post(bc: BusinessCentral, request: Request, target: Target) -> Response:
    body = _json(request)
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    entity = create(bc, target.company_id, target.entity_set, body, parent_key=target.parent_key)
    base = base_url(bc, request)
    location = f"{base}{target.prefix}/companies({target.company_id})/{target.entity_set}" \
               f"({entity['id']})"
    envelope = {"@odata.context": f"{base}{target.prefix}/$metadata#{target.context}/$entity",
                **entity}
    return json_response(envelope, status=201,
                         headers={"Location": location, "ETag": entity["@odata.etag"]})


def patch(bc: BusinessCentral, request: Request, target: Target) -> Response:
    _check_parent(bc, target)
    body = _json(request)
    with bc.store.lock:
        _check_if_match(bc, request, target)
        if not isinstance(body, dict):
            raise BCError(400, "BadRequest", "Invalid Request Body")
        entity = change(bc, target.company_id, target.entity_set, str(target.key), body)
    envelope = {"@odata.context": f"{base_url(bc, request)}{target.prefix}/$metadata#"
                f"{target.context}/$entity", **entity}
    return json_response(envelope, headers={"ETag": entity["@odata.etag"]})


def delete(bc: BusinessCentral, request: Request, target: Target) -> Response:
    _check_parent(bc, target)
    with bc.store.lock:
        _check_if_match(bc, request, target)
        remove(bc, target.company_id, target.entity_set, str(target.key))
    return Response(status=204, headers={"OData-Version": "4.0"})
