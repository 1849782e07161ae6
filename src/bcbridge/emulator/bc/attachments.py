"""``attachments`` and ``documentAttachments``: files attached to BC records, with their content.

Sources (Microsoft API v2.0 reference):

* ``attachment`` (an Incoming Document, table 130): ``resources/dynamics_attachment``,
  ``api/dynamics_attachment_create`` (``POST companies({id})/attachments`` with
  ``parentId``, ``fileName``, ``parentType`` -> 201 with ``id``, ``parentId``,
  ``fileName``, ``byteSize`` 0, ``lastModifiedDateTime``, ``parentType``) and
  ``api/dynamics_attachment_update`` (``PATCH attachments({id})/attachmentContent`` with
  the file's bytes and ``If-Match``).
* ``documentAttachment`` (Document Attachment, table 1173):
  ``api/dynamics_documentattachment_create``: ``id``, ``fileName``, ``byteSize``,
  ``parentType``, ``parentId``, ``lineNumber``, ``documentFlowSales``,
  ``documentFlowPurchase``, ``lastModifiedDateTime``; its content the same way.

Served: list (``$filter``, ``$top``, ``$skip``), get, create, PATCH of the metadata and
DELETE (both with ``If-Match``, as every API v2.0 write, docs/bc/4-concurrency.md §4), and
``GET``/``PATCH``/``PUT`` of ``{id}/attachmentContent`` (raw bytes; the PATCH answers 204
as the v1.0 sample does, **UNVERIFIED** for v2.0, whose text says 200). The parent must
exist in the set its ``parentType`` names; an unknown ``parentType`` is BC's
``Application_EvaluateException`` (docs/bc/8-errors.md §8), a missing parent 400 ``BadRequest``
(**UNVERIFIED** code). Attachments live in memory per company and go with ``reset``.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc._filter import compile_filter, parse_filter
from bcbridge.emulator.bc.etag import make_etag, matches
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral

__all__ = ["ENTITY", "SETS", "AttachmentStore", "handle"]

#: Fields in JSON order (the documents' samples) and their entities.json-style types.
SETS: dict[str, tuple[tuple[str, str], ...]] = {
    "attachments": (
        ("id", "GUID"),
        ("parentId", "GUID"),
        ("fileName", "string"),
        ("byteSize", "integer"),
        ("lastModifiedDateTime", "datetime"),
        ("parentType", "string"),
    ),
    "documentAttachments": (
        ("id", "GUID"),
        ("fileName", "string"),
        ("byteSize", "integer"),
        ("parentType", "string"),
        ("parentId", "GUID"),
        ("lineNumber", "integer"),
        ("documentFlowSales", "boolean"),
        ("documentFlowPurchase", "boolean"),
        ("lastModifiedDateTime", "datetime"),
    ),
}
ENTITY = {"attachments": "attachment", "documentAttachments": "documentAttachment"}
_WRITABLE = {
    "attachments": {"parentId", "fileName", "parentType"},
    "documentAttachments": {
        "fileName",
        "parentType",
        "parentId",
        "lineNumber",
        "documentFlowSales",
        "documentFlowPurchase",
    },
}
#: parentType caption -> the entity set the parent lives in.
PARENT_SETS = {
    "Journal": "journalLines",
    "Sales Order": "salesOrders",
    "Sales Quote": "salesQuotes",
    "Sales Credit Memo": "salesCreditMemos",
    "Sales Invoice": "salesInvoices",
    "Purchase Invoice": "purchaseInvoices",
    "Purchase Order": "purchaseOrders",
    "Customer": "customers",
    "Vendor": "vendors",
    "Item": "items",
    "Employee": "employees",
}


@dataclass
class _Attachment:
    record: dict[str, Any]
    content: bytes = b""
    version: int = 1


@dataclass
class AttachmentStore:
    """Attachments by ``(company id, entity set)`` then id, in creation order."""

    sets: dict[tuple[str, str], dict[str, _Attachment]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, company_id: str, entity_set: str) -> dict[str, _Attachment]:
        return self.sets.setdefault((company_id, entity_set), {})


class _Scoped(dict):  # type: ignore[type-arg]
    """The attachments of one parent record, writing through to the company's set."""

    def __init__(self, items: dict[str, _Attachment], parent: tuple[str, str]) -> None:
        super().__init__((k, v) for k, v in items.items() if v.record["parentId"] == parent[1])
        self.items, self.parent = items, parent

    def __setitem__(self, key: str, value: _Attachment) -> None:
        super().__setitem__(key, value)
        self.items[key] = value

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        del self.items[key]


def store(bc: BusinessCentral) -> AttachmentStore:
    """The attachments of ``bc``'s current data (a new, empty store after each reset)."""
    current = getattr(bc.store, "attachments", None)
    if current is None:
        current = AttachmentStore()
        bc.store.attachments = current  # type: ignore[attr-defined]
    return current


def handle(
    bc: BusinessCentral,
    request: Request,
    prefix: str,
    company_id: str,
    context: str,
    entity_set: str,
    raw_key: str | None,
    rest: list[tuple[str, str | None]],
    parent: tuple[str, str] | None = None,
) -> Response:
    """Serve ``{entity_set}[({id})][/attachmentContent]`` of one company.

    ``parent`` = ``(entity set, id)`` for the containment form
    ``salesOrders({id})/attachments``: only that record's attachments are listed, and a
    POST attaches to it.
    """
    from bcbridge.emulator.bc.routes import _key, not_found

    method = request.method.upper()
    attachments = store(bc)
    base = f"{_public_base(bc, request)}{prefix}"
    context = f"{context}/{entity_set}" if context else entity_set
    key = _key(raw_key)
    if rest and (rest[0] != ("attachmentContent", None) or len(rest) > 1 or key is None):
        raise not_found(rest[0][0])
    with attachments.lock:
        items = attachments.of(company_id, entity_set)
        if parent is not None:
            items = _Scoped(items, parent)
        if key is None:
            if method == "GET":
                return _list(request, base, context, entity_set, items)
            if method == "POST":
                return _create(bc, request, base, context, company_id, entity_set, items)
            raise _not_allowed(method, entity_set, "EntitySet")
        item = items.get(key)
        if item is None:
            raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
        if rest:
            return _content(bc, request, item)
        if method == "GET":
            return _entity(base, context, entity_set, item)
        if method in ("PATCH", "DELETE"):
            _check_if_match(bc, request, item)
        if method == "DELETE":
            del items[key]
            return Response(status=204, headers={"OData-Version": "4.0"})
        if method == "PATCH":
            changes = _body(request)
            _check_writable(entity_set, changes)
            record = {**item.record, **changes}
            _check_parent(bc, company_id, record)
            item.record = record
            _touch(bc, item)
            return _entity(base, context, entity_set, item)
        raise _not_allowed(method, entity_set, "Entity")


def _public_base(bc: BusinessCentral, request: Request) -> str:
    from bcbridge.emulator.bc.reads import base_url

    return str(base_url(bc, request))


def _etag(item: _Attachment) -> str:
    return make_etag(item.record["id"], item.version, item.record["lastModifiedDateTime"])


def _json(entity_set: str, item: _Attachment) -> dict[str, Any]:
    return {"@odata.etag": _etag(item), **{name: item.record[name] for name, _ in SETS[entity_set]}}


def _entity(base: str, context: str, entity_set: str, item: _Attachment, status: int = 200) -> Response:
    body = {"@odata.context": f"{base}/$metadata#{context}/$entity", **_json(entity_set, item)}
    response = json_response(body, status=status)
    response.headers["ETag"] = body["@odata.etag"]
    return response


def _list(request: Request, base: str, context: str, entity_set: str, items: dict[str, _Attachment]) -> Response:
    records = [_json(entity_set, item) for item in items.values()]
    text = request.args.get("$filter")
    if text:
        predicate = compile_filter(
            parse_filter(text), dict(SETS[entity_set]), entity_type=f"Microsoft.NAV.{ENTITY[entity_set]}"
        )
        records = [r for r in records if predicate(r)]
    skip, top = _integer(request, "$skip"), _integer(request, "$top")
    records = records[skip or 0 :]
    if top is not None:
        records = records[:top]
    return json_response({"@odata.context": f"{base}/$metadata#{context}", "value": records})


def _integer(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise BCError(400, "BadRequest", f"Invalid value '{value}' for the {name} query option.")
    return int(value)


def _create(
    bc: BusinessCentral,
    request: Request,
    base: str,
    context: str,
    company_id: str,
    entity_set: str,
    items: dict[str, _Attachment],
) -> Response:
    body = _body(request)
    _check_writable(entity_set, body)
    if isinstance(items, _Scoped):
        parent_set, parent_id = items.parent
        body.setdefault("parentId", parent_id)
        body.setdefault("parentType", next(k for k, v in PARENT_SETS.items() if v == parent_set))
    if not body.get("fileName"):
        raise BCError(400, "BadRequest_RequiredParamNotProvided", "Field 'fileName' must not be blank or empty.")
    record: dict[str, Any] = {name: _blank(type_) for name, type_ in SETS[entity_set]}
    record.update(body)
    record["id"] = str(uuid.uuid4())
    record["parentId"] = str(record.get("parentId") or "").lower()
    _check_parent(bc, company_id, record)
    item = _Attachment(record)
    _touch(bc, item, bump=False)
    items[record["id"]] = item
    response = _entity(base, context, entity_set, item, status=201)
    response.headers["Location"] = f"{base}/{context}({record['id']})"
    return response


def _content(bc: BusinessCentral, request: Request, item: _Attachment) -> Response:
    method = request.method.upper()
    if method == "GET":
        return Response(
            item.content, status=200, content_type="application/octet-stream", headers={"OData-Version": "4.0"}
        )
    if method in ("PATCH", "PUT"):
        _check_if_match(bc, request, item)
        item.content = request.get_data()
        item.record["byteSize"] = len(item.content)
        _touch(bc, item)
        return Response(status=204, headers={"OData-Version": "4.0"})
    raise _not_allowed(method, "attachmentContent", "Entity")


def _touch(bc: BusinessCentral, item: _Attachment, bump: bool = True) -> None:
    if bump:
        item.version += 1
    item.record["lastModifiedDateTime"] = bc.emulator.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _blank(type_: str) -> Any:
    return {"GUID": "00000000-0000-0000-0000-000000000000", "integer": 0, "boolean": False}.get(type_, "")


def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError as error:
        raise BCError(400, "BadRequest", f"Invalid Request Body: {error}") from error
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body: a JSON object is expected.")
    return {k: v for k, v in body.items() if not k.startswith("@odata.")}


def _check_writable(entity_set: str, body: dict[str, Any]) -> None:
    names = {name for name, _ in SETS[entity_set]}
    for name in body:
        if name not in names:
            raise BCError(
                400,
                "BadRequest",
                f"The property '{name}' does not exist on type 'Microsoft.NAV.{ENTITY[entity_set]}'.",
            )
        if name not in _WRITABLE[entity_set]:
            raise BCError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")


def _check_parent(bc: BusinessCentral, company_id: str, record: dict[str, Any]) -> None:
    parent_type = record.get("parentType") or ""
    parent_id = str(record.get("parentId") or "").lower()
    if parent_type and parent_type not in PARENT_SETS:
        raise BCError(
            400,
            "Application_EvaluateException",
            f'The value "{parent_type}" cannot be evaluated '
            f"into type Option. The existing options are: {','.join(PARENT_SETS)}",
        )
    sets = [PARENT_SETS[parent_type]] if parent_type else list(PARENT_SETS.values())
    for entity_set in sets:
        if bc.store.ordinal(company_id, entity_set, parent_id) is not None:
            if not parent_type:
                record["parentType"] = next(k for k, v in PARENT_SETS.items() if v == entity_set)
            return
    raise BCError(400, "BadRequest", f"The parent '{parent_id}' of type '{parent_type or 'any'}' does not exist.")


def _check_if_match(bc: BusinessCentral, request: Request, item: _Attachment) -> None:
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise _missing_token()
    if not matches(if_match, _etag(item)):
        raise _changed(bc)


def _missing_token() -> BCError:
    return BCError(
        400,
        "BadRequest_InvalidToken",
        "Could not validate the client concurrency token required by "
        "the service. Please provide a valid token in the client request.",
    )


def _changed(bc: BusinessCentral) -> BCError:
    return BCError(
        bc.emulator.config.etag_mismatch_status, "Request_EntityChanged", "Another user has already changed the record."
    )


def _not_allowed(method: str, what: str, kind: str) -> BCError:
    return BCError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{what}' of EdmType '{kind}' "
        "are not allowed within Microsoft Dynamics NAV OData web services.",
    )
