"""Warehouse shipments (seed 000's use case) through registry endpoints.

Seed 000 lists the jobs: "fetch warehouse shipments, get and update pick details, register
shipment picks, post warehouse shipments", each an endpoint row called by code. They are
served by a custom API (``/api/contoso/warehouse/v1.0/companies({id})/warehouseShipments``
with ``warehouseShipmentLines`` and the bound actions ``Microsoft.NAV.registerPick`` and
``Microsoft.NAV.post``, docs/bc/2-urls.md §2.2) and codeunit ``APICodeunits`` published as a web
service (``POST /ODataV4/APICodeunits_GetWhseShipmentList?company=...``, §2.3).

:func:`install_warehouse_endpoints` writes those rows for a connection (editable in the
admin afterwards, e.g. another publisher); the functions below only call codes, so a
company whose extension differs changes rows, not code::

    install_warehouse_endpoints(connection)
    with BC(connection) as bc:
        shipment = shipments(bc, location="WHITE")[0]
        for line in shipment["warehouseShipmentLines"]:
            update_pick(bc, line, line["quantityOutstanding"])
        register_pick(bc, shipment["id"])
        post_shipment(bc, shipment["id"])
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from bcbridge.models import ApiEndpoint, Connection, OutboxMessage
from bcbridge.odata import F
from bcbridge.push.outbox import enqueue_call

if TYPE_CHECKING:
    from bcbridge.entities import BC

__all__ = [
    "WAREHOUSE_ENDPOINTS",
    "enqueue_post_shipment",
    "enqueue_register_pick",
    "install_warehouse_endpoints",
    "next_sales_order_no",
    "post_shipment",
    "register_pick",
    "shipment",
    "shipment_list",
    "shipments",
    "update_pick",
]

_EXPAND = {"$expand": "warehouseShipmentLines"}

#: The standard rows: code -> (name, kind, method, relative URL, default query).
WAREHOUSE_ENDPOINTS: dict[str, tuple[str, str, str, str, dict[str, Any]]] = {
    "WHSE_SHIPMENTS": ("Warehouse shipments with lines", "custom_api", "GET", "warehouseShipments", _EXPAND),
    "WHSE_SHIPMENT": (
        "One warehouse shipment with lines",
        "custom_api",
        "GET",
        "warehouseShipments({shipment_id})",
        _EXPAND,
    ),
    "WHSE_SHIPMENT_LINES": (
        "Pick details of a shipment",
        "custom_api",
        "GET",
        "warehouseShipments({shipment_id})/warehouseShipmentLines",
        {},
    ),
    "WHSE_UPDATE_PICK": (
        "Update pick details (quantityToShip)",
        "custom_api",
        "PATCH",
        "warehouseShipmentLines({line_id})",
        {},
    ),
    "WHSE_REGISTER_PICK": (
        "Register shipment pick",
        "custom_api",
        "POST",
        "warehouseShipments({shipment_id})/Microsoft.NAV.registerPick",
        {},
    ),
    "WHSE_POST_SHIPMENT": (
        "Post warehouse shipment",
        "custom_api",
        "POST",
        "warehouseShipments({shipment_id})/Microsoft.NAV.post",
        {},
    ),
    "GET_WHSE_SHPT_LINES": (
        "Get Warehouse Shipment Lines",
        "unbound_action",
        "POST",
        "{service}_GetWhseShipmentList",
        {},
    ),
    "GET_SALES_ORDER_NOS": ("Get Sales Order Number", "unbound_action", "POST", "{service}_GetNextSalesOrderNo", {}),
}


def install_warehouse_endpoints(
    connection: Connection,
    *,
    publisher: str = "contoso",
    group: str = "warehouse",
    version: str = "v1.0",
    service: str = "APICodeunits",
) -> list[ApiEndpoint]:
    """Create or update the standard warehouse endpoints of ``connection``; returns them.

    Args:
        connection: The connection.
        publisher, group, version: The warehouse custom API route.
        service: Service name of the published codeunit.
    """
    rows = []
    for code, (name, kind, method, template, query) in WAREHOUSE_ENDPOINTS.items():
        row, _ = ApiEndpoint.objects.update_or_create(
            connection=connection,
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "method": method,
                "url_template": template.replace("{service}", service),
                "publisher": publisher if kind == "custom_api" else "",
                "group": group if kind == "custom_api" else "",
                "version": version if kind == "custom_api" else "v2.0",
                "company_scoped": True,
                "default_query": dict(query),
                "enabled": True,
                "description": "Standard warehouse endpoint (bcbridge.push.warehouse).",
            },
        )
        rows.append(row)
    return rows


def shipments(bc: BC, company: str | uuid.UUID | None = None, *, location: str | None = None) -> list[dict[str, Any]]:
    """Open warehouse shipments with their lines (``WHSE_SHIPMENTS``), optionally of one location."""
    params = {"$filter": str(F("locationCode") == location)} if location else None
    answer = bc.call("WHSE_SHIPMENTS", None, company=company, params=params)
    return list(answer.get("value", []))


def shipment(bc: BC, shipment_id: str, company: str | uuid.UUID | None = None) -> dict[str, Any]:
    """One shipment with its lines (``WHSE_SHIPMENT``); raises NotFound when posted or gone."""
    result: dict[str, Any] = bc.call("WHSE_SHIPMENT", None, company=company, shipment_id=shipment_id)
    return result


def update_pick(
    bc: BC, line: Mapping[str, Any], quantity_to_ship: float, company: str | uuid.UUID | None = None
) -> dict[str, Any]:
    """Set a line's ``quantityToShip`` with its ETag (``WHSE_UPDATE_PICK``); returns the new line.

    Raises:
        ConcurrencyConflict: The line changed since it was read (re-read it).
        BadRequest: More than the outstanding quantity (BC's message says how much).
    """
    result: dict[str, Any] = bc.call(
        "WHSE_UPDATE_PICK",
        {"quantityToShip": quantity_to_ship},
        company=company,
        etag=str(line["@odata.etag"]),
        line_id=line["id"],
    )
    return result


def register_pick(bc: BC, shipment_id: str, company: str | uuid.UUID | None = None) -> None:
    """Register the pick of every line (``WHSE_REGISTER_PICK``, BC answers 204)."""
    bc.call("WHSE_REGISTER_PICK", None, company=company, shipment_id=shipment_id)


def post_shipment(bc: BC, shipment_id: str, company: str | uuid.UUID | None = None) -> None:
    """Post the shipment (``WHSE_POST_SHIPMENT``): BC creates the posted sales shipment."""
    bc.call("WHSE_POST_SHIPMENT", None, company=company, shipment_id=shipment_id)


def shipment_list(bc: BC, company: str | uuid.UUID | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Seed 000's ``GetWhseShipmentList`` codeunit (``GET_WHSE_SHPT_LINES``), filtered by
    header fields (``locationCode="WHITE"``). An AL procedure returning Text gives JSON
    text in ``value``; both that and a JSON array are accepted."""
    answer = bc.call("GET_WHSE_SHPT_LINES", dict(filters), company=company)
    value = answer.get("value") if isinstance(answer, dict) else answer
    if isinstance(value, str):
        value = orjson.loads(value) if value.strip() else []
    return list(value or [])


def next_sales_order_no(bc: BC, company: str | uuid.UUID | None = None) -> str:
    """The next sales order number from the ``GetNextSalesOrderNo`` codeunit (consumed)."""
    answer = bc.call("GET_SALES_ORDER_NOS", {}, company=company)
    return str(answer.get("value") if isinstance(answer, dict) else answer)


def enqueue_register_pick(connection: Connection, company: Any, shipment_id: str) -> OutboxMessage:
    """Queue :func:`register_pick` in the outbox (in the caller's transaction)."""
    return enqueue_call(connection, company, "WHSE_REGISTER_PICK", shipment_id=shipment_id)


def enqueue_post_shipment(connection: Connection, company: Any, shipment_id: str) -> OutboxMessage:
    """Queue :func:`post_shipment` in the outbox; a lost answer followed by 404 counts as posted."""
    return enqueue_call(connection, company, "WHSE_POST_SHIPMENT", shipment_id=shipment_id)
