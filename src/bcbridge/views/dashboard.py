"""The dashboard: stock levels, sales over time, sync and webhook health, outbox state.

A staff-only page inside the admin's look (``admin/base_site.html``). Every figure is
rendered server-side, so the page is complete without JavaScript; the same figures go into
the page as JSON (``json_script``) and ``static/bcbridge/dashboard.js`` draws the charts
with the vendored Chart.js. The queries live in :mod:`bcbridge.views._dashboard_data` and
:mod:`bcbridge.views._dashboard_health`.

Query string: ``company=<pk>`` narrows the company panels to one company; ``period=week``
shows sales per ISO week instead of per month.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bcbridge.models import Company
from bcbridge.views import _dashboard_data as data
from bcbridge.views import _dashboard_health as health

__all__ = ["dashboard", "dashboard_context"]


def dashboard_context(company: Company | None = None, period: str = "month") -> dict[str, Any]:
    """Every panel's figures (their shapes are in the panel functions' docstrings).

    Returns:
        ``{"connections", "stock", "sales", "sync", "webhooks", "outbox"}``.
    """
    return {
        "connections": data.connections(),
        "stock": data.stock_levels(company),
        "sales": data.sales_over_time(company, period=period, periods=26 if period == "week" else 12),
        "sync": health.sync_health(company),
        "webhooks": health.webhook_health(company),
        "outbox": data.outbox_state(),
    }


def _company(request: HttpRequest) -> Company | None:
    value = request.GET.get("company", "")
    if not value.isdigit():
        return None
    return Company.objects.select_related("connection").filter(pk=int(value)).first()


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """``GET /bcbridge/dashboard/``; anonymous and non-staff users go to the admin login."""
    company = _company(request)
    period = "week" if request.GET.get("period") == "week" else "month"
    panels = dashboard_context(company, period)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "is_nav_sidebar_enabled": False,  # the panels need the width
        "panels": panels,
        "company": company,
        "period": period,
        "companies": Company.objects.filter(present=True, selected=True)
        .select_related("connection")
        .order_by("connection__name", "name")[:100],
    }
    return render(request, "bcbridge/dashboard.html", context)
