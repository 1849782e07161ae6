"""The dashboard: each panel's figures from a few rows made with the ORM, and the page itself."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcbridge.models import (
    Company,
    Connection,
    Item,
    OutboxMessage,
    SalesInvoice,
    SyncConfig,
    SyncRun,
    SyncState,
    WebhookDelivery,
    WebhookSubscription,
)
from bcbridge.views import _dashboard_data as data
from bcbridge.views import _dashboard_health as health
from bcbridge.views.dashboard import dashboard_context

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 12, 30, tzinfo=UTC)


@pytest.fixture
def conn():
    return Connection.objects.create(name="cronus", tenant="contoso.example", client_id="app")


@pytest.fixture
def company(conn):
    return Company.objects.create(connection=conn, bc_id=uuid.uuid4(), name="CRONUS USA", selected=True)


@pytest.fixture
def other(conn):
    return Company.objects.create(connection=conn, bc_id=uuid.uuid4(), name="CRONUS UK", selected=True)


def _mirror(model, company, **fields):
    return model.objects.create(connection=company.connection, company=company, bc_id=uuid.uuid4(), **fields)


def test_stock_levels_rank_stocked_items_and_count_those_at_or_below_zero(company, other):
    for number, inventory in [("1000", 5), ("1001", 120), ("1002", 0), ("1003", -3), ("1004", 40)]:
        _mirror(Item, company, number=number, type="Inventory", inventory=Decimal(inventory))
    _mirror(Item, company, number="S-1", type="Service", inventory=Decimal(0))  # holds no stock
    _mirror(Item, company, number="GONE", type="Inventory", inventory=Decimal(999), deleted=True)
    _mirror(Item, other, number="UK-1", type="Inventory", inventory=Decimal(700))

    stock = data.stock_levels(company, top=3)
    assert stock["items"] == 5
    assert stock["total_inventory"] == 162.0
    assert (stock["at_or_below_zero"], stock["below_zero"]) == (2, 1)
    assert [i["number"] for i in stock["top"]] == ["1001", "1004", "1000"]
    assert [i["number"] for i in stock["short"]] == ["1003", "1002"]
    assert stock["top"][0]["company"] == "CRONUS USA" and stock["top"][0]["inventory"] == 120.0

    everywhere = data.stock_levels()
    assert everywhere["items"] == 6 and everywhere["top"][0]["number"] == "UK-1"


def test_sales_per_month_end_with_the_latest_invoice_one_series_per_currency(company):
    def invoice(day, amount, currency=""):
        _mirror(
            SalesInvoice,
            company,
            number=f"S-INV-{day}-{amount}",
            invoice_date=day,
            currency_code=currency,
            total_amount_excluding_tax=Decimal(amount),
            total_amount_including_tax=Decimal(amount) * Decimal("1.1"),
        )

    invoice(date(2025, 12, 3), 100)
    invoice(date(2025, 12, 30), 50)
    invoice(date(2026, 2, 14), 200)
    invoice(date(2026, 2, 20), 70, "EUR")
    invoice(date(2024, 1, 5), 999)  # before the window
    invoice(date(1, 1, 1), 999)  # BC's blank date

    sales = data.sales_over_time(company, periods=3)
    assert sales["labels"] == ["2025-12-01", "2026-01-01", "2026-02-01"]
    local, eur = sales["series"]
    assert (local["currency"], eur["currency"]) == ("", "EUR")
    assert local["amount_excluding_tax"] == [150.0, 0.0, 200.0]
    assert local["invoices"] == [2, 0, 1]
    assert eur["amount_excluding_tax"] == [0.0, 0.0, 70.0]
    assert sales["invoices"] == 4 and sales["amount_excluding_tax"] == 420.0
    assert sales["rows"][0]["start"] == date(2026, 2, 1)
    assert sales["rows"][0]["cells"] == [
        {"amount_excluding_tax": 200.0, "invoices": 1},
        {"amount_excluding_tax": 70.0, "invoices": 1},
    ]

    weekly = data.sales_over_time(company, period="week", periods=2)
    assert weekly["labels"] == ["2026-02-09", "2026-02-16"]  # Mondays
    assert [s["amount_excluding_tax"] for s in weekly["series"]] == [[200.0, 0.0], [0.0, 70.0]]
    with pytest.raises(ValueError, match="period"):
        data.sales_over_time(company, period="day")


def test_sync_health_reads_state_latest_run_and_runs_in_the_window(company, other, conn):
    SyncState.objects.create(
        connection=conn,
        company=company,
        entity_set="items",
        watermark=NOW - timedelta(minutes=10),
        last_success_at=NOW - timedelta(minutes=9),
    )
    SyncState.objects.create(
        connection=conn, company=company, entity_set="customers", last_error="ServiceUnavailable: 503"
    )

    def run(entity_set, status, minutes_ago, fetched=0, error=""):
        return SyncRun.objects.create(
            connection=conn,
            company=company,
            entity_set=entity_set,
            kind=SyncRun.Kind.INCREMENTAL,
            status=status,
            started_at=NOW - timedelta(minutes=minutes_ago),
            fetched=fetched,
            created=fetched,
            error=error,
        )

    run("items", SyncRun.Status.FAILED, 60 * 30, error="too old to count")
    run("items", SyncRun.Status.FAILED, 20, error="timeout")
    run("items", SyncRun.Status.SUCCEEDED, 10, fetched=25)
    run("customers", SyncRun.Status.FAILED, 5, error="ServiceUnavailable: 503")
    SyncConfig.objects.create(connection=conn, entity_set="vendors")

    result = health.sync_health(company, now=NOW)
    by_set = {row["entity_set"]: row for row in result["sets"]}
    items = by_set["items"]
    assert items["health"] == "ok"
    assert items["watermark_age"] == 600.0
    assert items["runs"] == {"failed": 1, "succeeded": 1}
    assert items["fetched"] == 25
    assert items["last_run"]["status"] == "succeeded" and items["last_run"]["fetched"] == 25
    customers = by_set["customers"]
    assert customers["health"] == "failing" and customers["last_run"]["error"] == "ServiceUnavailable: 503"
    assert by_set["vendors"]["health"] == "never" and by_set["vendors"]["last_run"] is None
    assert result["runs_by_status"] == {"failed": 2, "succeeded": 1}
    assert result["failing"] == 1
    # the other company has only the connection-wide configuration, not yet synced
    assert [row["entity_set"] for row in health.sync_health(other, now=NOW)["sets"]] == ["vendors"]


def test_webhook_health_lists_expiry_and_counts_deliveries_per_hour(company, conn):
    WebhookSubscription.objects.create(
        connection=conn,
        company=company,
        entity_set="items",
        resource="r",
        notification_url="https://example.test/hook",
        status="active",
        expiration_date_time=NOW + timedelta(hours=5),
    )
    WebhookSubscription.objects.create(
        connection=conn,
        company=company,
        entity_set="customers",
        resource="r",
        notification_url="https://example.test/hook",
        status="lost",
        expiration_date_time=NOW - timedelta(hours=1),
    )
    for minutes, status in [(5, "processed"), (6, "processed"), (70, "invalid"), (60 * 30, "processed")]:
        WebhookDelivery.objects.create(
            connection=conn, method="POST", path="/x", status=status, received_at=NOW - timedelta(minutes=minutes)
        )

    hooks = health.webhook_health(company, hours=3, now=NOW)
    assert [s["entity_set"] for s in hooks["subscriptions"]] == ["customers", "items"]
    assert hooks["subscriptions"][0]["expires_in"] == -3600.0
    assert hooks["subscriptions"][1]["expires_in"] == 5 * 3600.0
    assert hooks["subscriptions_by_status"] == {"active": 1, "lost": 1}
    assert hooks["expiring_within_day"] == 1
    deliveries = hooks["deliveries"]
    assert deliveries["by_status"] == {"invalid": 1, "processed": 2}
    assert deliveries["labels"] == [
        "2026-03-18T10:00:00+00:00",
        "2026-03-18T11:00:00+00:00",
        "2026-03-18T12:00:00+00:00",
    ]
    assert deliveries["by_hour"] == {"processed": [0, 0, 2], "invalid": [0, 1, 0]}


def test_outbox_state_counts_statuses_finds_the_oldest_open_and_lists_parked(conn):
    def message(status, minutes_ago, **fields):
        return OutboxMessage.objects.create(
            connection=conn,
            company_id=str(uuid.uuid4()),
            operation="create",
            entity_set="salesOrders",
            status=status,
            created_at=NOW - timedelta(minutes=minutes_ago),
            **{"next_attempt_at": NOW - timedelta(minutes=minutes_ago), **fields},
        )

    message("pending", 30)
    message("pending", 2, next_attempt_at=NOW + timedelta(minutes=5))  # backing off
    message("in_flight", 1)
    message("sent", 90)
    parked = message("parked", 50, attempts=3, last_status=400, last_error_code="BadRequest", last_error="no item")

    outbox = data.outbox_state(now=NOW)
    assert outbox["by_status"] == {"pending": 2, "in_flight": 1, "sent": 1, "parked": 1, "cancelled": 0}
    assert outbox["total"] == 5 and outbox["open"] == 3 and outbox["due"] == 1
    assert outbox["oldest_open_at"] == NOW - timedelta(minutes=30) and outbox["oldest_open_age"] == 1800.0
    assert [m["id"] for m in outbox["parked"]] == [parked.pk]
    assert outbox["parked"][0]["last_error_code"] == "BadRequest" and outbox["parked"][0]["attempts"] == 3


def test_every_panel_works_on_an_empty_database():
    assert data.stock_levels() == {
        "items": 0,
        "total_inventory": 0.0,
        "at_or_below_zero": 0,
        "below_zero": 0,
        "top": [],
        "short": [],
    }
    assert data.sales_over_time()["labels"] == []
    assert health.sync_health()["sets"] == []
    assert health.webhook_health()["subscriptions"] == []
    assert data.outbox_state()["open"] == 0 and data.outbox_state()["oldest_open_at"] is None
    assert data.connections() == []


def test_the_number_of_queries_does_not_grow_with_the_rows(company, other, conn):
    def add_rows(company, n):
        for k in range(n):
            _mirror(Item, company, number=f"{company.name}-{n}-{k}", type="Inventory", inventory=Decimal(k - 1))
            _mirror(SalesInvoice, company, number=f"I-{n}-{k}", invoice_date=date(2026, 1 + k % 3, 1))
            SyncState.objects.create(connection=conn, company=company, entity_set=f"set{n}-{k}")
            SyncRun.objects.create(connection=conn, company=company, entity_set=f"set{n}-{k}", kind="full")
            WebhookSubscription.objects.create(
                connection=conn,
                company=company,
                entity_set=f"set{n}-{k}",
                resource="r",
                notification_url="https://example.test/hook",
                expiration_date_time=NOW,
            )
            WebhookDelivery.objects.create(connection=conn, method="POST", path="/x")
            OutboxMessage.objects.create(connection=conn, company_id="c", operation="create", status="parked")

    add_rows(company, 1)
    with CaptureQueriesContext(connection) as few:
        dashboard_context()
    add_rows(company, 6)
    add_rows(other, 5)
    with CaptureQueriesContext(connection) as many:
        dashboard_context()
    assert len(many) == len(few)


def test_anonymous_users_are_sent_to_the_admin_login(client):
    response = client.get(reverse("bcbridge:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_see_every_panel_numbers_and_chart_data(admin_client, company):
    _mirror(Item, company, number="1001", display_name="ATHENS Desk", type="Inventory", inventory=Decimal(12))
    _mirror(Item, company, number="1002", display_name="PARIS Chair", type="Inventory", inventory=Decimal(-2))
    _mirror(
        SalesInvoice,
        company,
        number="S-INV-1",
        invoice_date=date(2026, 1, 10),
        total_amount_excluding_tax=Decimal("1234.5"),
    )
    SyncState.objects.create(connection=company.connection, company=company, entity_set="items")
    SyncConfig.objects.create(connection=company.connection, entity_set="customers")
    WebhookSubscription.objects.create(
        connection=company.connection,
        company=company,
        entity_set="items",
        resource="r",
        notification_url="https://example.test/hook",
        expiration_date_time=NOW,
    )
    OutboxMessage.objects.create(
        connection=company.connection, company_id=str(company.bc_id), operation="create", status="parked"
    )
    response = admin_client.get(reverse("bcbridge:dashboard"), {"company": company.pk, "period": "week"})
    html = response.content.decode()
    assert response.status_code == 200
    for panel in ("panel-stock", "panel-sales", "panel-sync", "panel-webhooks", "panel-outbox"):
        assert f'id="{panel}"' in html
    assert "ATHENS Desk" in html and "PARIS Chair" in html
    assert 'data-entity-set="items"' in html and 'data-entity-set="customers"' in html
    assert 'id="table-webhooks"' in html and 'id="table-outbox-parked"' in html
    assert "bcbridge/vendor/chart.umd.min.js" in html and "bcbridge/dashboard.js" in html
    assert 'id="site-name"' in html  # inside the admin's frame
    blob = html.split('id="bcbridge-dashboard-data" type="application/json">')[1].split("</script>")[0]
    panels = json.loads(blob)
    assert panels["stock"]["at_or_below_zero"] == 1
    assert panels["sales"]["period"] == "week" and panels["sales"]["invoices"] == 1
    assert panels["connections"][0]["name"] == "cronus"


def test_the_admin_index_links_to_the_dashboard(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("bcbridge:dashboard")}"' in html
    assert "Site administration" in html  # still the standard index


@pytest.mark.django_db
def test_statuses_are_words_not_codes(client, admin_user, bc_emulator):
    """The dashboard says "Not authorized", never the code ``not_authorized`` (issue 14)."""
    from .conftest import make_connection

    make_connection(bc_emulator, grant_type="authorization_code")
    client.force_login(admin_user)
    page = client.get(reverse("bcbridge:dashboard")).content.decode()
    assert "Not authorized" in page
    visible = re.sub(r'data-status="[^"]*"', "", page)
    assert "not_authorized" not in re.sub(r"<script.*?</script>", "", visible, flags=re.S)
