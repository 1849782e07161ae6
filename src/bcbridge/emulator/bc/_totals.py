"""Line amounts and document totals, as BC computes them for API documents.

A line's amounts follow from quantity, unit price (``unitCost`` on purchase lines),
discount and tax percent; a document's totals are the sums of its lines (AL
``Sales Invoice Entity Aggregate`` / ``Sales Order Entity Buffer`` keep them in sync).
Amounts are rounded to 2 decimals (currency precision, docs/bc/10-notes.md §10).
"""

from __future__ import annotations

__all__ = ["TOTAL_SETS", "header_totals", "line_amounts"]

#: Header sets whose totals are the sums of their lines.
TOTAL_SETS = frozenset({"salesOrders", "salesInvoices", "purchaseInvoices"})


def line_amounts(line: dict) -> dict:
    """The computed amount fields of a document line (only those the line has).

    Args:
        line: A line with ``quantity``, ``unitPrice`` or ``unitCost``, ``discountPercent``,
            ``discountAmount`` and ``taxPercent``.

    Returns:
        ``{"amountExcludingTax", "totalTaxAmount", "amountIncludingTax", "netAmount",
        "netTaxAmount", "netAmountIncludingTax", "discountAmount"}``; callers keep the fields
        their line type has.
    """
    quantity = float(line.get("quantity") or 0)
    price = float(line.get("unitPrice", line.get("unitCost")) or 0)
    gross = quantity * price
    percent = float(line.get("discountPercent") or 0)
    discount = round(gross * percent / 100, 2) if percent else float(
        line.get("discountAmount") or 0)
    net = round(gross - discount, 2)
    tax = round(net * float(line.get("taxPercent") or 0) / 100, 2)
    values = {
        "discountAmount": discount, "amountExcludingTax": net, "totalTaxAmount": tax,
        "amountIncludingTax": round(net + tax, 2), "netAmount": net, "netTaxAmount": tax,
        "netAmountIncludingTax": round(net + tax, 2),
    }
    return {k: _number(v) for k, v in values.items()}


def _number(value: float) -> float | int:
    # BC sends 0 and whole amounts without a fraction ("0", "1000"), others as decimals.
    return int(value) if float(value).is_integer() else value


def header_totals(header_set: str, lines: list[dict]) -> dict:
    """Totals of a document of ``header_set`` from its current lines; ``{}`` if it has none."""
    if header_set not in TOTAL_SETS:
        return {}
    excluding = round(sum(float(line.get("amountExcludingTax") or 0) for line in lines), 2)
    tax = round(sum(float(line.get("totalTaxAmount") or 0) for line in lines), 2)
    totals = {
        "totalAmountExcludingTax": _number(excluding),
        "totalTaxAmount": _number(tax),
        "totalAmountIncludingTax": _number(round(excluding + tax, 2)),
    }
    return totals
