"""How the admin shows numbers and statuses: BC's precision, thousands separators, badges.

BC's rounding precisions (the defaults of BC's General Ledger Setup page, Microsoft Learn
"Set up general ledger"; BC sends decimals as JSON numbers, docs/bc/7-entities.md §7.2): amounts 0.01
("Amount Rounding Precision"), unit amounts (unit price, unit cost) up to 0.00001
("Unit-Amount Rounding Precision"), quantities up to 0.00001 (the item's "Qty. Rounding
Precision"). The mirror stores 10 decimal places, so values are shown
rounded to what BC itself shows: ``1,234.5`` quantities, ``1,234.50`` amounts,
``12.34567`` unit prices.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.html import format_html

__all__ = ["badge", "decimal_display", "format_amount", "format_quantity", "format_unit_amount", "precision_of"]

_CENT = Decimal("0.01")
_UNIT = Decimal("0.00001")

#: status value -> colour family of the badge (green = fine, amber = wait, red = act, grey = off)
_TONES = {
    "valid": "ok",
    "succeeded": "ok",
    "sent": "ok",
    "processed": "ok",
    "active": "ok",
    "running": "busy",
    "in_flight": "busy",
    "pending": "wait",
    "received": "wait",
    "expiring": "wait",
    "skipped": "wait",
    "refreshing": "wait",
    "not_authorized": "off",
    "cancelled": "off",
    "disabled": "off",
    "failed": "bad",
    "parked": "bad",
    "expired": "bad",
    "invalid": "bad",
    "rejected": "bad",
    "error": "bad",
}
_COLOURS = {
    "ok": ("#e6f4ea", "#1e6b34"),
    "busy": ("#e8f0fe", "#1a4fa0"),
    "wait": ("#fef7e0", "#8a5a00"),
    "bad": ("#fce8e6", "#a3201a"),
    "off": ("#eeeeee", "#555555"),
}


def badge(value: str, label: str | None = None) -> str:
    """A coloured pill with the human ``label`` (default: ``value`` in words), keeping the
    raw code in ``data-status`` for scripts and tests."""
    text = label if label is not None else str(value).replace("_", " ").capitalize()
    background, colour = _COLOURS[_TONES.get(str(value), "off")]
    return format_html(
        '<span class="bcbridge-badge" data-status="{}" style="background:{};color:{};padding:1px 8px;'
        'border-radius:9px;white-space:nowrap;font-weight:600">{}</span>',
        value,
        background,
        colour,
        text,
    )


def _grouped(value: Decimal, places: int) -> str:
    return f"{value:,.{places}f}"


def format_amount(value: Decimal | float | int | None) -> str:
    """``1234.5`` -> ``"1,234.50"`` (BC's amount precision 0.01); ``None`` -> ``""``."""
    if value is None:
        return ""
    return _grouped(Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP), 2)


def format_unit_amount(value: Decimal | float | int | None) -> str:
    """Unit prices and costs: at least 2, at most 5 decimals (``12.3`` -> ``"12.30"``,
    ``0.123456`` -> ``"0.12346"``)."""
    if value is None:
        return ""
    rounded = Decimal(str(value)).quantize(_UNIT, rounding=ROUND_HALF_UP)
    places = max(2, -rounded.normalize().as_tuple().exponent)  # type: ignore[operator]
    return _grouped(rounded, min(places, 5))


def format_quantity(value: Decimal | float | int | None) -> str:
    """Quantities: up to 5 decimals, no trailing zeros (``279.0000000000`` -> ``"279"``,
    ``1234.5`` -> ``"1,234.5"``)."""
    if value is None:
        return ""
    rounded = Decimal(str(value)).quantize(_UNIT, rounding=ROUND_HALF_UP)
    places = max(0, -rounded.normalize().as_tuple().exponent)  # type: ignore[operator]
    return _grouped(rounded, min(places, 5))


def precision_of(field_name: str) -> Callable[[Any], str]:
    """The formatter for a decimal column by its BC meaning (from the field's name)."""
    name = field_name.lower()
    if "quantity" in name or name in ("inventory",) or name.endswith("_qty"):
        return format_quantity
    if name in ("unit_price", "unit_cost", "direct_unit_cost") or "percent" in name:
        return format_unit_amount
    return format_amount


def decimal_display(field: Any) -> Callable[[Any, Any], str]:
    """An admin display method showing ``field`` (a DecimalField) with BC's precision,
    right-aligned, sortable by the column."""
    formatter = precision_of(field.name)

    def show(self: Any, obj: Any) -> str:
        text = formatter(getattr(obj, field.attname))
        return format_html('<span style="display:block;text-align:right;white-space:nowrap">{}</span>', text)

    show.short_description = field.verbose_name  # type: ignore[attr-defined]
    show.admin_order_field = field.name  # type: ignore[attr-defined]
    show.__name__ = f"{field.name}_display"
    return show
