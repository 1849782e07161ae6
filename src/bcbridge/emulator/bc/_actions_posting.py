"""Posting building blocks shared by bound actions and the warehouse custom API.

They write only through :class:`~bcbridge.emulator.bc.store.Store`, so every record they
touch gets a new ``lastModifiedDateTime`` and ETag and the change listeners (webhooks)
hear about it. Amounts follow :mod:`bcbridge.emulator.bc._totals`.
"""

from __future__ import annotations

from typing import Any

from bcbridge.emulator.bc import _totals
from bcbridge.emulator.bc.schema import BLANK_DATE, BLANK_GUID, schema
from bcbridge.emulator.errors import BCError

__all__ = [
    "SHIPMENT_LINE_TYPES",
    "adjust_balance",
    "adjust_inventory",
    "app_error",
    "build_record",
    "code_of",
    "insert_document",
    "today",
]

#: Document line type (``NAV.invoiceLineAggLineType``) -> shipment line type
#: (``NAV.salesLineType``); the two enums differ (docs/bc/7-entities.md §7.2).
SHIPMENT_LINE_TYPES = {
    "Comment": " ",
    "Account": "G/L Account",
    "Item": "Item",
    "Resource": "Resource",
    "Fixed Asset": "Fixed Asset",
    "Charge": "Charge Item",
    "Value": " ",
}


def app_error(message: str) -> BCError:
    """An AL ``Error(...)`` raised by business logic: 400 ``Application_DialogException``."""
    return BCError(400, "Application_DialogException", message)


def today(store: Any) -> str:
    """The work date: today on the emulator clock, as Edm.Date."""
    return str(store.clock.now().date().isoformat())


def build_record(entity_set: str, *sources: dict[str, Any], **values: object) -> dict[str, Any]:
    """A complete record of ``entity_set`` in JSON field order.

    Each field takes its value from ``values``, else from the first of ``sources`` that has
    a field of that name, else the field's blank value (docs/bc/7-entities.md §7.2). ``id`` is left
    blank so the store assigns a fresh one.
    """
    record: dict[str, object] = {}
    for field in schema()[entity_set].fields:
        if field.name in values:
            record[field.name] = values[field.name]
            continue
        if field.name == "id":
            record["id"] = BLANK_GUID
            continue
        for source in sources:
            if field.name in source:
                record[field.name] = source[field.name]
                break
        else:
            record[field.name] = field.blank()
    return record


def code_of(store: Any, company_id: str, entity_set: str, key: object) -> str:
    """The ``code`` of the record ``key`` in a reference set (``""`` for a blank id)."""
    if not key or key == BLANK_GUID:
        return ""
    record = store.get(company_id, entity_set, str(key))
    return str(record.get("code", "")) if record else ""


def insert_document(
    store: Any, company_id: str, header_set: str, header: dict[str, Any], line_set: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """Insert a header and its lines; lines get ``documentId`` and computed amounts.

    Returns the header as stored after its lines (totals included).
    """
    stored = store.insert(company_id, header_set, header)
    for line in lines:
        line = dict(line)
        line["documentId"] = stored["id"]
        if "documentNo" in line:
            line["documentNo"] = stored.get("number", "")
        line.update(_totals.line_amounts(line))
        store.insert(company_id, line_set, line)
    result: dict[str, Any] = store.get(company_id, header_set, stored["id"]) or stored
    return result


def adjust_inventory(store: Any, company_id: str, lines: list[tuple[dict[str, Any], float]], sign: int) -> None:
    """Move item inventory by ``sign * quantity`` for each (line, quantity) of an item line.

    BC posts item ledger entries; the API's ``items.inventory`` is their sum.
    """
    totals: dict[str, float] = {}
    for line, quantity in lines:
        item_id = str(line.get("itemId") or "")
        if line.get("lineType") == "Item" and item_id and item_id != BLANK_GUID and quantity:
            totals[item_id] = totals.get(item_id, 0.0) + quantity
    for item_id, quantity in totals.items():
        item = store.get(company_id, "items", item_id)
        if item is None:
            continue
        value = round(float(item.get("inventory") or 0) + sign * quantity, 5)
        store.update(company_id, "items", item_id, {"inventory": _number(value)})


def adjust_balance(store: Any, company_id: str, entity_set: str, key: object, field: str, amount: float) -> None:
    """Add ``amount`` to a customer's ``balanceDue`` or a vendor's ``balance``."""
    if not key or key == BLANK_GUID or not amount:
        return
    record = store.get(company_id, entity_set, str(key))
    if record is None or field not in record:
        return
    value = round(float(record.get(field) or 0) + amount, 2)
    store.update(company_id, entity_set, str(key), {field: _number(value)})


def is_blank_date(value: object) -> bool:
    return not value or value == BLANK_DATE


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
