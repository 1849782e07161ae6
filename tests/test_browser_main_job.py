"""The main job in a real Chromium (Playwright): log in to the admin, authorize a connection
through the emulator's sign-in page, see the token turn valid, mirror items and open them,
open the dashboard. Screenshots go to ``test-artifacts/`` only; ``make screenshots`` (which
sets ``BCBRIDGE_REFRESH_DOCS=1``) also copies the dashboard's to the README's
``docs/dashboard.png``, so a test run never changes a tracked file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from bcbridge.entities import BC
from bcbridge.models import Company, Item, SyncRun
from bcbridge.sync.engine import sync

from .browser import ARTIFACTS, authorize, log_in
from .conftest import make_connection

DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_main_job_in_the_browser(live_server, bc_emulator_server, admin_user, browser_page):
    emulator = bc_emulator_server.emulator
    connection = make_connection(emulator, grant_type="authorization_code")
    page = browser_page

    # log in to the admin
    log_in(page, live_server)
    page.wait_for_selector("#bcbridge-dashboard-link")

    # authorize through the emulator's sign-in page; the token status turns valid
    authorize(page, live_server, bc_emulator_server, connection)
    page.screenshot(path=str(ARTIFACTS / "authorized.png"), full_page=True)
    connection.refresh_from_db()
    assert connection.token_status == "valid" and connection.token["refresh_token"]

    # mirror the items (and sales invoices, for the dashboard) of one company with the
    # sync engine, over real HTTP with the token the sign-in gave
    first = emulator.bc.companies()[0]
    Company.objects.filter(connection=connection, bc_id=first["id"]).update(selected=True)
    report = sync(connection, ["items", "salesInvoices"])
    assert report.ok, [run.error for run in report.runs]
    assert {run.entity_set for run in report.runs} == {"items", "salesInvoices"}
    with BC(connection) as bc:
        in_bc = {record["id"] for record in bc.company(first["id"]).items.list(select=["id"], page_size=20_000)}
    mirrored = {str(bc_id) for bc_id in Item.objects.filter(connection=connection).values_list("bc_id", flat=True)}
    assert mirrored == in_bc and len(mirrored) > 0

    # open the mirrored items
    item = Item.objects.filter(connection=connection).order_by("number").first()
    page.goto(f"{live_server.url}{reverse('admin:bcbridge_item_changelist')}")
    assert page.get_by_text(f"{len(mirrored)} items", exact=False).count() > 0
    page.goto(f"{live_server.url}{reverse('admin:bcbridge_item_changelist')}?q={item.number}")
    assert page.get_by_role("link", name=str(item), exact=True).count() > 0
    page.goto(f"{live_server.url}{reverse('admin:bcbridge_item_changelist')}")
    page.screenshot(path=str(ARTIFACTS / "items.png"), full_page=True)

    # open the dashboard from the admin index; the charts are drawn from the page's data
    page.goto(f"{live_server.url}{reverse('admin:index')}")
    page.click("#bcbridge-dashboard-link a")
    page.wait_for_selector('body[data-bcbridge-charts="drawn"]')
    stocked = Item.objects.filter(connection=connection).exclude(type__in=["Service", "Non-Inventory"]).count()
    assert page.inner_text("#stock-items") == str(stocked)
    assert int(page.inner_text("#sales-invoices")) > 0
    assert page.locator('#table-sync tr[data-entity-set="items"] .bcb-ok').count() == 1
    assert page.inner_text("#sync-failing") == "0"
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 2
    for canvas in ("chart-stock", "chart-sales", "chart-sync"):
        assert page.evaluate(f"!!window.Chart.getChart('{canvas}')"), canvas
    assert page.get_by_text("No outbox messages yet.").count() == 1
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    if os.environ.get("BCBRIDGE_REFRESH_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "dashboard.png", DOCS / "dashboard.png")
