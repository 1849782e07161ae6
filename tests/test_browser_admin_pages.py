"""Every admin page of bcbridge fits a 1,280 px wide window (issue 14).

A Chromium (Playwright) opens each change list and one change page of every bcbridge model,
with data the sync engine mirrored from the emulator and the demo's endpoint rows, takes a
screenshot into ``test-artifacts/admin/`` and checks that nothing runs off the right edge:
the page's ``scrollWidth`` is no larger than the window (the CSSOM View spec's definition
of a horizontally scrollable document), and no table cell is wider than the window.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from bcbridge.push import enqueue
from bcbridge.push.warehouse import install_warehouse_endpoints
from bcbridge.sync.engine import sync

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1280
OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('#content table, #content fieldset, #content .inline-group')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map(el => (el.id || el.className || el.tagName) + ':' + Math.round(el.getBoundingClientRect().right));
  return {scroll: doc.scrollWidth, inner: window.innerWidth, wide};
}"""


def _bcbridge_models():
    return sorted(
        (model for model in admin.site._registry if model._meta.app_label == "bcbridge"),
        key=lambda model: model._meta.model_name,
    )


def test_every_admin_page_fits_1280_px(live_server, admin_user, browser_page, connection, company):
    report = sync(connection, ["items", "customers", "salesInvoices", "generalLedgerEntries", "locations"])
    assert report.ok, [run.error for run in report.runs]
    install_warehouse_endpoints(connection)
    enqueue(connection, company, "create", entity_set="customers", payload={"displayName": "Browser Test Customer"})
    page = browser_page
    assert page.viewport_size["width"] == WIDTH
    log_in(page, live_server)
    shots = ARTIFACTS / "admin"
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    for model in _bcbridge_models():
        name = model._meta.model_name
        urls = [(f"{name}-list", reverse(f"admin:bcbridge_{name}_changelist"))]
        manager = getattr(model, "all_objects", model._default_manager)
        first = manager.order_by("pk").first()
        if first is not None:
            urls.append((f"{name}-detail", reverse(f"admin:bcbridge_{name}_change", args=[first.pk])))
        for label, url in urls:
            response = page.goto(f"{live_server.url}{url}")
            assert response is not None and response.ok, (label, response and response.status)
            page.screenshot(path=str(shots / f"{label}.png"), full_page=True)
            measured = page.evaluate(OVERFLOW)
            if measured["scroll"] > measured["inner"] or measured["wide"]:
                problems.append((label, measured))
    assert problems == [], "\n".join(f"{label}: {measured}" for label, measured in problems)
