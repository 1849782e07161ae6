"""Reference pages and the query of the web services: what API v2.0 does not serve.

ShippingAgents (page 428) and CustomerPriceGroups (page 7) are small BaseApp tables with
fixed demo rows; Itemsbylocation (query 2554 in seed 004's table) gives each item's
``inventory`` split over the warehouse locations, deterministically. Query rows carry the
``AuxiliaryIndex1`` key BC adds to query web services and no ETag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bcbridge.emulator.bc._custom_warehouse import requires_shipment
from bcbridge.emulator.bc._ws_model import WsContext, WsPage, read_only, stable_hash

__all__ = ["CUSTOMER_PRICE_GROUPS", "ITEMS_BY_LOCATION", "PRICE_GROUPS", "SHIPPING_AGENTS"]

#: (Code, Description) of the demo customer price groups.
PRICE_GROUPS = (
    ("RETAIL", "Retail customers"),
    ("WHOLESALE", "Wholesale customers"),
    ("EXPORT", "Export customers"),
)


# -- ShippingAgents (page 428) and CustomerPriceGroups (page 7): BaseApp tables API v2.0 lacks.
def _static(
    rows: tuple[dict[str, Any], ...],
) -> Callable[[WsContext], list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    return lambda ctx: [(dict(row), None) for row in rows]


SHIPPING_AGENTS = WsPage(
    "ShippingAgents",
    "Page",
    428,
    None,
    ("Code",),
    (
        read_only("Code"),
        read_only("Name"),
        read_only("Internet_Address"),
        read_only("Account_No"),
    ),
    _static(
        (
            {
                "Code": "DHL",
                "Name": "DHL Systems, Inc.",
                "Internet_Address": "www.dhl.com",
                "Account_No": "",
            },
            {
                "Code": "FEDEX",
                "Name": "Federal Express Corporation",
                "Internet_Address": "www.fedex.com",
                "Account_No": "",
            },
            {"Code": "OWN LOG.", "Name": "Own Logistics", "Internet_Address": "", "Account_No": ""},
            {"Code": "UPS", "Name": "UPS", "Internet_Address": "www.ups.com", "Account_No": ""},
        )
    ),
)

CUSTOMER_PRICE_GROUPS = WsPage(
    "CustomerPriceGroups",
    "Page",
    7,
    None,
    ("Code",),
    (
        read_only("Code"),
        read_only("Description"),
        read_only("Allow_Line_Disc", "boolean"),
        read_only("Allow_Invoice_Disc", "boolean"),
        read_only("Price_Includes_VAT", "boolean"),
        read_only("VAT_Bus_Posting_Gr_Price"),
    ),
    _static(
        tuple(
            {
                "Code": code,
                "Description": text,
                "Allow_Line_Disc": True,
                "Allow_Invoice_Disc": code != "EXPORT",
                "Price_Includes_VAT": False,
                "VAT_Bus_Posting_Gr_Price": "",
            }
            for code, text in PRICE_GROUPS
        )
    ),
)


# -- Itemsbylocation (query): inventory per item and location -----------------------------------
def _split(total: float, weights: list[int]) -> list[float]:
    """``total`` in proportion to ``weights``; whole units stay whole (largest remainder)."""
    if total < 0:  # negative stock (shipped before received) sits at the first location
        return [total] + [0.0] * (len(weights) - 1)
    unit = 1.0 if float(total).is_integer() else 0.01
    units = round(total / unit)
    exact = [units * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: units - sum(parts)]:
        parts[i] += 1
    return [round(p * unit, 2) for p in parts]


def _items_by_location(ctx: WsContext) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Splits each item's ``inventory`` over the warehouse locations, deterministically."""
    codes = sorted(str(r.get("code")) for _, r in ctx.records("locations") if requires_shipment(str(r.get("code"))))
    rows: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    if not codes:
        return rows
    for _, item in ctx.records("items"):
        total = float(item.get("inventory") or 0)
        if not total:
            continue
        weights = [1 + stable_hash(item["id"], code) % 4 for code in codes]
        shares = _split(total, weights)
        for code, share in zip(codes, shares, strict=True):
            if share:
                rows.append(
                    (
                        {
                            "Item_No": item.get("number", ""),
                            "Description": item.get("displayName", ""),
                            "Location_Code": code,
                            "Inventory": int(share) if float(share).is_integer() else share,
                        },
                        None,
                    )
                )
    for index, (row, _) in enumerate(rows, start=1):
        row["AuxiliaryIndex1"] = index
    return rows


ITEMS_BY_LOCATION = WsPage(
    "Itemsbylocation",
    "Query",
    2554,
    None,
    ("AuxiliaryIndex1",),
    (
        read_only("Item_No"),
        read_only("Description"),
        read_only("Location_Code"),
        read_only("Inventory", "decimal"),
        read_only("AuxiliaryIndex1", "integer"),
    ),
    _items_by_location,
)
