"""Warehouse shipments of the contoso warehouse custom API, derived from sales orders.

The model follows BaseApp's Warehouse Shipment Header (table 7320) and Line (table 7321):
one shipment per sales order that still has item quantities to ship at a location that
requires shipments (every location except outsourced ``OUT...`` ones), one line per such
order line. Ids, numbers (``SH000001``...), bins and shipping agents are deterministic
functions of the order, so the same seed gives the same shipments.

Derived fields (``quantity``, ``quantityShipped``, ``itemNumber``...) are read from the
order lines each time (one truth with API v2.0); what only the warehouse knows
(``quantityToShip`` when changed, ``quantityPicked``, a released ``status``) lives in a
per-store side table, dropped by ``bc.reset()``. A shipment disappears when its order is
fully shipped, as BC deletes a fully posted warehouse shipment.
"""

from __future__ import annotations

import hashlib
import uuid
import weakref
from datetime import datetime
from typing import Any

import orjson

from bcbridge.emulator.bc import _actions_orders as orders
from bcbridge.emulator.bc._actions_posting import app_error
from bcbridge.emulator.bc._ids import format_datetime
from bcbridge.emulator.bc.etag import make_etag
from bcbridge.emulator.bc.schema import BLANK_GUID

__all__ = [
    "HEADER_TYPES",
    "LINE_TYPES",
    "Shipment",
    "find_line",
    "order_location",
    "post",
    "register_pick",
    "requires_shipment",
    "set_quantity_to_ship",
    "shipment",
    "shipments",
]

_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4b7a-9c61-2f4e5d6a7b80")
_AGENTS = ("DHL", "FEDEX", "UPS", "OWN LOG.")

#: Field -> type of the two entities, in JSON order (types as in entities.json).
HEADER_TYPES = {
    "id": "GUID",
    "number": "string",
    "locationCode": "string",
    "status": "string",
    "shipmentDate": "date",
    "sourceDocument": "string",
    "sourceNumber": "string",
    "customerNumber": "string",
    "shippingAgentCode": "string",
    "lastModifiedDateTime": "datetime",
}
LINE_TYPES = {
    "id": "GUID",
    "documentId": "GUID",
    "lineNumber": "integer",
    "sourceDocument": "string",
    "sourceNumber": "string",
    "sourceLineNumber": "integer",
    "itemNumber": "string",
    "variantCode": "string",
    "description": "string",
    "locationCode": "string",
    "binCode": "string",
    "unitOfMeasureCode": "string",
    "quantity": "decimal",
    "quantityOutstanding": "decimal",
    "quantityToShip": "decimal",
    "quantityPicked": "decimal",
    "quantityShipped": "decimal",
    "shipmentDate": "date",
    "lastModifiedDateTime": "datetime",
}
#: Fields a client may PATCH (lines only; the rest is set by BC).
EDITABLE_LINE_FIELDS = frozenset({"quantityToShip"})

Shipment = tuple[dict[str, Any], list[dict[str, Any]]]

# store -> {(company, id): {field: value}} for headers and lines (the warehouse's own state).
_STATE: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], dict[str, object]]] = weakref.WeakKeyDictionary()


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _own(store: Any, company_id: str, key: str) -> dict[str, object]:
    return _STATE.setdefault(store, {}).setdefault((company_id.lower(), key.lower()), {})


def requires_shipment(location_code: str) -> bool:
    """Whether a location uses warehouse shipments and picks (not outsourced logistics)."""
    return bool(location_code) and not location_code.upper().startswith("OUT")


def order_location(store: Any, company_id: str, order: dict[str, Any]) -> str:
    """The location an order ships from: its first line's warehouse location, else one of
    the company's warehouse locations picked by the order id."""
    for _, line in store.iter(company_id, "salesOrderLines", parent_key=order["id"]):
        location_id = line.get("locationId")
        if location_id and location_id != BLANK_GUID:
            location = store.get(company_id, "locations", str(location_id))
            if location and requires_shipment(str(location.get("code"))):
                return str(location["code"])
    codes = sorted(
        str(r.get("code")) for _, r in store.iter(company_id, "locations") if requires_shipment(str(r.get("code")))
    )
    return codes[_h(order["id"]) % len(codes)] if codes else ""


def _blank(value: object) -> bool:
    return not value or value == "0001-01-01"


def _num(value: Any) -> float:
    return float(value or 0)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _later(*stamps: object) -> str:
    def key(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    values = [str(s) for s in stamps if s]
    return max(values, key=key) if values else "0001-01-01T00:00:00Z"


def _build(store: Any, company_id: str, ordinal: int, order: dict[str, Any]) -> Shipment | None:
    location = order_location(store, company_id, order)
    if not requires_shipment(location):
        return None
    shipment_id = str(uuid.uuid5(_NAMESPACE, f"shipment:{order['id']}"))
    own = _own(store, company_id, shipment_id)
    date = order.get("requestedDeliveryDate")
    if _blank(date):
        date = order.get("orderDate") or "0001-01-01"
    lines = []
    for line in orders.order_lines(store, company_id, order["id"]):
        outstanding = _num(line.get("quantity")) - _num(line.get("shippedQuantity"))
        if line.get("lineType") != "Item" or outstanding <= 0:
            continue
        line_id = str(uuid.uuid5(_NAMESPACE, f"line:{line['id']}"))
        line_own = _own(store, company_id, line_id)
        item_number = str(line.get("lineObjectNumber", ""))
        h = _h(company_id, item_number)
        lines.append(
            {
                "id": line_id,
                "documentId": shipment_id,
                "lineNumber": line.get("sequence", 0),
                "sourceDocument": "Sales Order",
                "sourceNumber": order.get("number", ""),
                "sourceLineNumber": line.get("sequence", 0),
                "itemNumber": item_number,
                "variantCode": _variant_code(store, company_id, line),
                "description": line.get("description", ""),
                "locationCode": location,
                "binCode": f"{location[:1]}-{h % 9 + 1:02d}-{(h >> 8) % 20 + 1:04d}",
                "unitOfMeasureCode": line.get("unitOfMeasureCode", ""),
                "quantity": line.get("quantity", 0),
                "quantityOutstanding": _number(outstanding),
                "quantityToShip": _number(min(outstanding, _num(line_own.get("quantityToShip", outstanding)))),
                "quantityPicked": _number(min(outstanding, _num(line_own.get("quantityPicked", 0)))),
                "quantityShipped": line.get("shippedQuantity", 0),
                "shipmentDate": date if _blank(line.get("shipmentDate")) else line["shipmentDate"],
                "lastModifiedDateTime": _later(order.get("lastModifiedDateTime"), line_own.get("stamp")),
                "_orderLineId": line["id"],
            }
        )
    if not lines:
        return None
    header = {
        "id": shipment_id,
        "number": f"SH{ordinal + 1:06d}",
        "locationCode": location,
        "status": own.get("status") or ("Released" if order.get("status") == "Open" else "Open"),
        "shipmentDate": date,
        "sourceDocument": "Sales Order",
        "sourceNumber": order.get("number", ""),
        "customerNumber": order.get("customerNumber", ""),
        "shippingAgentCode": _AGENTS[_h(order["id"]) % len(_AGENTS)],
        "lastModifiedDateTime": _later(
            order.get("lastModifiedDateTime"),
            own.get("stamp"),
            *(line["lastModifiedDateTime"] for line in lines),
        ),
        "_orderId": order["id"],
    }
    return header, lines


def _variant_code(store: Any, company_id: str, line: dict[str, Any]) -> str:
    variant_id = line.get("itemVariantId")
    if not variant_id or variant_id == BLANK_GUID:
        return ""
    variant = store.get(company_id, "itemVariants", str(variant_id))
    return str(variant.get("code", "")) if variant else ""


def shipments(store: Any, company_id: str) -> list[Shipment]:
    """Every open warehouse shipment of the company, in order of their sales orders."""
    result = []
    for ordinal, order in store.iter(company_id, "salesOrders"):
        built = _build(store, company_id, ordinal, order)
        if built is not None:
            result.append(built)
    return result


def shipment(store: Any, company_id: str, shipment_id: str) -> Shipment | None:
    """One shipment by id, or ``None``."""
    shipment_id = shipment_id.lower()
    return next((s for s in shipments(store, company_id) if s[0]["id"] == shipment_id), None)


def find_line(store: Any, company_id: str, line_id: str) -> tuple[Shipment, dict[str, Any]] | None:
    """The shipment and line with id ``line_id``, or ``None``."""
    line_id = line_id.lower()
    for found in shipments(store, company_id):
        for line in found[1]:
            if line["id"] == line_id:
                return found, line
    return None


def public(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without internal fields, with its ``@odata.etag`` first."""
    body = {k: v for k, v in record.items() if not k.startswith("_")}
    return {"@odata.etag": make_etag(body["id"], 0, orjson.dumps(body).decode()), **body}


def _stamp(store: Any) -> str:
    return format_datetime(store.clock.now())


def set_quantity_to_ship(store: Any, company_id: str, line: dict[str, Any], value: object) -> None:
    """Validate and store a new ``quantityToShip`` (0 .. quantityOutstanding).

    Raises:
        BCError: 400 ``Application_DialogException`` (Warehouse Shipment Line
            ``Qty. to Ship`` validation: "You cannot handle more than the outstanding
            {n} units.") or 400 ``BadRequest`` for a non-number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        from bcbridge.emulator.errors import BCError

        raise BCError(
            400,
            "BadRequest",
            f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal'.",
        )
    outstanding = _num(line["quantityOutstanding"])
    if value < 0:
        raise app_error("Qty. to Ship must not be negative.")
    if value > outstanding:
        raise app_error(f"You cannot handle more than the outstanding {_number(outstanding)} units.")
    own = _own(store, company_id, line["id"])
    own["quantityToShip"] = float(value)
    own["stamp"] = _stamp(store)


def register_pick(store: Any, company_id: str, found: Shipment) -> None:
    """Register the pick of every line: ``quantityPicked = quantityToShip``; the shipment
    becomes ``Released`` (BC releases a shipment before its pick is created).

    Raises:
        BCError: 400 "There is nothing to handle." when no line has a quantity to ship.
    """
    header, lines = found
    if not any(_num(line["quantityToShip"]) > 0 for line in lines):
        raise app_error("There is nothing to handle.")
    stamp = _stamp(store)
    for line in lines:
        own = _own(store, company_id, line["id"])
        own["quantityPicked"] = float(max(_num(line["quantityPicked"]), _num(line["quantityToShip"])))
        own["stamp"] = stamp
    own = _own(store, company_id, header["id"])
    own["status"] = "Released"
    own["stamp"] = stamp


def post(store: Any, company_id: str, found: Shipment) -> dict[str, Any] | None:
    """Post the shipment: ship ``min(quantityToShip, quantityPicked)`` of every line.

    Creates the posted salesShipment (API v2.0) of the source order through
    :func:`~bcbridge.emulator.bc._actions_orders.post_order`; picked quantities shrink
    by what was shipped. Returns the posted salesShipment record.

    Raises:
        BCError: 400 ``Application_DialogException`` "There is nothing to post." when no
            line has a picked quantity to ship (Whse.-Post Shipment).
    """
    header, lines = found
    to_ship = {
        str(line["_orderLineId"]): min(_num(line["quantityToShip"]), _num(line["quantityPicked"])) for line in lines
    }
    if not any(quantity > 0 for quantity in to_ship.values()):
        raise app_error("There is nothing to post.")
    result = orders.post_order(store, company_id, header["_orderId"], ship=to_ship, invoice=False)
    stamp = _stamp(store)
    for line in lines:
        own = _own(store, company_id, line["id"])
        shipped = to_ship[str(line["_orderLineId"])]
        own["quantityPicked"] = float(_num(line["quantityPicked"]) - shipped)
        own.pop("quantityToShip", None)
        own["stamp"] = stamp
    _own(store, company_id, header["id"])["stamp"] = stamp
    return result["shipment"]
