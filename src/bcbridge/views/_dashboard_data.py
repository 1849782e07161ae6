"""The dashboard's figures: one function per panel, each returning plain dicts and lists
(stock, sales, outbox and connections here; sync and webhook health in
:mod:`bcbridge.views._dashboard_health`).

Every figure is aggregated in SQL and every list is limited, so the page stays cheap on a
mirror of millions of rows: ``COUNT``/``SUM`` grouped by a few columns, ``ORDER BY ... LIMIT``
for top-N lists, and time windows on indexed columns (``SyncRun.started_at``,
``WebhookDelivery.received_at``, ``OutboxMessage.status``). The values are JSON-ready
(decimals as floats, ages in seconds; datetimes stay ``datetime``, which ``json_script``
writes as ISO 8601) so the same dict is rendered into the page and handed to the charts.

Each function takes ``company`` (a :class:`~bcbridge.models.Company`, or ``None`` for every
company) where the data belongs to a company, and ``now`` for tests.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from bcbridge.models import Company, Connection, Item, OutboxMessage, OutboxStatus, SalesInvoice, TokenStatus

__all__ = ["connections", "outbox_state", "sales_over_time", "stock_levels"]

#: BC's blank date (docs/bc/7-entities.md §7.2) and anything before it is "no date".
_NO_DATE = date(1900, 1, 1)
#: Item types that hold no stock in BC (``type`` of ``items``, docs/bc/7-entities.md §7.3).
_NO_STOCK_TYPES = ("Service", "Non-Inventory")


def _number(value: Decimal | int | None) -> float:
    return float(value) if value is not None else 0.0


def _age(value: datetime | None, now: datetime) -> float | None:
    """Seconds from ``value`` to ``now`` (negative when ``value`` is in the future)."""
    return (now - value).total_seconds() if value is not None else None


def _scoped(queryset: QuerySet[Any], company: Company | None) -> QuerySet[Any]:
    return queryset.filter(company=company) if company is not None else queryset


def connections() -> list[dict[str, Any]]:
    """Every connection with its token status and selected companies (a handful of rows).

    Returns:
        ``[{"id", "name", "enabled", "token_status", "token_label", "token_expires_at",
        "companies", "selected_companies"}]`` ordered by name; ``token_label`` is the status
        in words ("Not authorized"), ``token_status`` its code.
    """
    rows = Connection.objects.order_by("name").annotate(
        n_companies=Count("companies", filter=Q(companies__present=True)),
        n_selected=Count("companies", filter=Q(companies__present=True, companies__selected=True)),
    )
    return [
        {
            "id": c.pk,
            "name": c.name,
            "enabled": c.enabled,
            "token_status": c.current_token_status(),
            "token_label": TokenStatus(c.current_token_status()).label,
            "token_expires_at": c.token_expires_at,
            "companies": c.n_companies,
            "selected_companies": c.n_selected,
        }
        for c in rows
    ]


def stock_levels(company: Company | None = None, *, top: int = 10, short: int = 10) -> dict[str, Any]:
    """Stock of the mirrored items (``items.inventory``, in each item's base unit of measure).

    Service and non-inventory items hold no stock and are left out; blocked items are kept.

    Args:
        company: One company, or ``None`` for all.
        top: How many items with the most stock to list.
        short: How many items at or below zero to list.

    Returns:
        ``{"items": int, "total_inventory": float, "at_or_below_zero": int,
        "below_zero": int, "top": [item], "short": [item]}`` where an item is
        ``{"id", "number", "display_name", "company", "inventory", "unit"}``; ``top`` is
        ordered by inventory descending, ``short`` ascending (most negative first).
    """
    stocked = _scoped(Item.objects.exclude(type__in=_NO_STOCK_TYPES), company)
    totals = stocked.aggregate(
        items=Count("id"),
        total=Sum("inventory"),
        at_or_below_zero=Count("id", filter=Q(inventory__lte=0) | Q(inventory__isnull=True)),
        below_zero=Count("id", filter=Q(inventory__lt=0)),
    )
    fields = ("id", "number", "display_name", "company__name", "inventory", "base_unit_of_measure_code")

    def rows(queryset: QuerySet[Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": r["id"],
                "number": r["number"],
                "display_name": r["display_name"],
                "company": r["company__name"],
                "inventory": _number(r["inventory"]),
                "unit": r["base_unit_of_measure_code"],
            }
            for r in queryset.values(*fields)
        ]

    return {
        "items": totals["items"],
        "total_inventory": _number(totals["total"]),
        "at_or_below_zero": totals["at_or_below_zero"],
        "below_zero": totals["below_zero"],
        "top": rows(stocked.filter(inventory__gt=0).order_by("-inventory", "number")[:top]),
        "short": rows(
            stocked.filter(Q(inventory__lte=0) | Q(inventory__isnull=True)).order_by("inventory", "number")[:short]
        ),
    }


def _period_starts(last: date, period: str, periods: int) -> list[date]:
    """The first day of each of the ``periods`` months or ISO weeks ending with ``last``'s."""
    if period == "week":
        monday = last - timedelta(days=last.weekday())
        return [monday - timedelta(weeks=n) for n in range(periods - 1, -1, -1)]
    starts = []
    year, month = last.year, last.month
    for _ in range(periods):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def sales_over_time(company: Company | None = None, *, period: str = "month", periods: int = 12) -> dict[str, Any]:
    """Posted sales invoices per month or week (``salesInvoices``, by ``invoiceDate``).

    The window ends with the period of the latest invoice in the mirror (not today), so a
    mirror of an old or demo company still shows its sales. Amounts are in each invoice's
    currency, so there is one series per ``currencyCode`` (blank: the company's local
    currency).

    Args:
        company: One company, or ``None`` for all.
        period: ``"month"`` or ``"week"`` (ISO weeks, starting Monday).
        periods: How many periods to show.

    Returns:
        ``{"period": str, "labels": [ISO date of each period's first day],
        "series": [{"currency", "amount_excluding_tax": [float], "amount_including_tax":
        [float], "invoices": [int], "total_excluding_tax": float, "total_invoices": int}],
        "rows": [{"start": date, "cells": [{"amount_excluding_tax", "invoices"} per
        series]}] (newest first), "invoices": int, "amount_excluding_tax": float}``;
        ``labels`` is empty when no invoice is mirrored.

    Raises:
        ValueError: ``period`` is neither ``"month"`` nor ``"week"``.
    """
    if period not in ("month", "week"):
        raise ValueError(f"period must be 'month' or 'week', not {period!r}")
    invoices = _scoped(SalesInvoice.objects.filter(invoice_date__gt=_NO_DATE), company)
    last = invoices.aggregate(last=Max("invoice_date"))["last"]
    empty: dict[str, Any] = {
        "period": period,
        "labels": [],
        "series": [],
        "rows": [],
        "invoices": 0,
        "amount_excluding_tax": 0.0,
    }
    if last is None:
        return empty
    starts = _period_starts(last, period, periods)
    trunc = TruncWeek if period == "week" else TruncMonth
    grouped = (
        invoices.filter(invoice_date__gte=starts[0])
        .annotate(start=trunc("invoice_date"))
        .values("start", "currency_code")
        .annotate(
            n=Count("id"),
            excluding=Sum("total_amount_excluding_tax"),
            including=Sum("total_amount_including_tax"),
        )
    )
    index = {start: n for n, start in enumerate(starts)}
    series: dict[str, dict[str, Any]] = {}
    for row in grouped:
        start = row["start"].date() if isinstance(row["start"], datetime) else row["start"]
        if start not in index:
            continue
        currency = row["currency_code"] or ""
        entry = series.setdefault(
            currency,
            {
                "currency": currency,
                "amount_excluding_tax": [0.0] * periods,
                "amount_including_tax": [0.0] * periods,
                "invoices": [0] * periods,
            },
        )
        entry["amount_excluding_tax"][index[start]] += _number(row["excluding"])
        entry["amount_including_tax"][index[start]] += _number(row["including"])
        entry["invoices"][index[start]] += row["n"]
    ordered = sorted(series.values(), key=lambda s: (s["currency"] != "", s["currency"]))
    for entry in ordered:
        entry["total_excluding_tax"] = sum(entry["amount_excluding_tax"])
        entry["total_invoices"] = sum(entry["invoices"])
    # the same figures by period, newest first, for the page's table
    rows = [
        {
            "start": start,
            "cells": [
                {"amount_excluding_tax": s["amount_excluding_tax"][n], "invoices": s["invoices"][n]} for s in ordered
            ],
        }
        for n, start in reversed(list(enumerate(starts)))
    ]
    return {
        "period": period,
        "labels": [s.isoformat() for s in starts],
        "series": ordered,
        "rows": rows,
        "invoices": sum(sum(s["invoices"]) for s in ordered),
        "amount_excluding_tax": sum(sum(s["amount_excluding_tax"]) for s in ordered),
    }


def outbox_state(*, parked: int = 20, now: datetime | None = None) -> dict[str, Any]:
    """The outbox: messages by status, the oldest open one, what is due, and the parked ones.

    Returns:
        ``{"by_status": {status: int} (every status, zeros included), "total": int, "open": int,
        "due": int, "oldest_open_at": datetime | None, "oldest_open_age": seconds | None,
        "parked": [{"id", "connection", "operation", "entity_set", "action", "attempts",
        "last_status", "last_error_code", "last_error", "updated_at"}]}``; ``parked`` lists
        the newest parked messages first.
    """
    now = now or timezone.now()
    counts = {
        row["status"]: row["n"] for row in OutboxMessage.objects.values("status").annotate(n=Count("id")).order_by()
    }
    open_statuses = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
    open_ = OutboxMessage.objects.filter(status__in=open_statuses)
    figures = open_.aggregate(
        oldest=Min("created_at"),
        due=Count("id", filter=Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)),
    )
    listed = (
        OutboxMessage.objects.filter(status=OutboxStatus.PARKED)
        .select_related("connection")
        .order_by("-updated_at", "-id")[:parked]
    )
    return {
        "by_status": {s: counts.get(s, 0) for s in OutboxStatus.values},
        "total": sum(counts.values()),
        "open": sum(counts.get(s, 0) for s in open_statuses),
        "due": figures["due"],
        "oldest_open_at": figures["oldest"],
        "oldest_open_age": _age(figures["oldest"], now),
        "parked": [
            {
                "id": m.pk,
                "connection": m.connection.name,
                "operation": m.operation,
                "entity_set": m.entity_set,
                "action": m.action,
                "attempts": m.attempts,
                "last_status": m.last_status,
                "last_error_code": m.last_error_code,
                "last_error": m.last_error,
                "updated_at": m.updated_at,
            }
            for m in listed
        ],
    }
