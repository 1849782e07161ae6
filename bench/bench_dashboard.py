"""Benchmark the dashboard's queries on a large mirror, against plain counts of the same tables.

Fills one database with a big mirror (default 100,000 items, 50,000 sales invoices, and
20,000 each of sync runs, webhook deliveries and outbox messages, made with bulk inserts)
and times, best of a few rounds:

* every panel of :func:`bcbridge.views.dashboard.dashboard_context`, one by one and together;
* the baseline: one plain pass over each table the panels read (``SELECT SUM(column)``
  of a column no index covers), in the same run.

Prints the times, the ratio to the baseline and the number of SQL queries of the whole
page (which does not grow with the data). The page reads the items three times (totals, top,
at or below zero) and the invoices twice (latest date, the window), the rest through indexes,
so the target is the whole page within 8x the baseline: a handful of passes, never a query
per row.

Usage::

    python bench/bench_dashboard.py [--items 100000] [--invoices 50000] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from _databases import child_env

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/bench_dashboard"



def _best(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _fill(items: int, invoices: int, others: int) -> None:
    import uuid
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from bcbridge.models import (
        Company,
        Connection,
        Item,
        ItemVariant,
        OutboxMessage,
        SalesInvoice,
        SalesInvoiceLine,
        SyncRun,
        SyncState,
        WebhookDelivery,
    )

    # a raw delete of an earlier run's rows: a cascading delete of a big mirror is slow
    earlier = (SalesInvoiceLine, SalesInvoice, ItemVariant, Item, SyncRun, SyncState, WebhookDelivery, OutboxMessage)
    for model in earlier:
        model._base_manager.all()._raw_delete("default")  # type: ignore[attr-defined]
    Connection.objects.filter(name="bench-dashboard").delete()
    conn = Connection.objects.create(name="bench-dashboard", tenant="bench.example", client_id="bench")
    company = Company.objects.create(connection=conn, bc_id=uuid.uuid4(), name="BENCH", selected=True)
    now = datetime.now(UTC)
    batch = 5000
    kinds = ("Inventory", "Inventory", "Inventory", "Service", "Non-Inventory")
    for start in range(0, items, batch):
        Item.objects.bulk_create(
            Item(
                connection=conn,
                company=company,
                bc_id=uuid.uuid4(),
                number=f"{n:07d}",
                display_name=f"Item {n}",
                type=kinds[n % len(kinds)],
                inventory=Decimal((n * 7919) % 1000 - 20),
                base_unit_of_measure_code="PCS",
            )
            for n in range(start, min(start + batch, items))
        )
    first = date(2025, 1, 1)
    for start in range(0, invoices, batch):
        SalesInvoice.objects.bulk_create(
            SalesInvoice(
                connection=conn,
                company=company,
                bc_id=uuid.uuid4(),
                number=f"S-INV{n:07d}",
                invoice_date=first + timedelta(days=n % 700),
                currency_code="EUR" if n % 9 == 0 else "",
                total_amount_excluding_tax=Decimal(n % 5000),
                total_amount_including_tax=Decimal(n % 5000) * Decimal("1.2"),
            )
            for n in range(start, min(start + batch, invoices))
        )
    sets = ("items", "customers", "salesOrders", "salesInvoices", "vendors")
    for name in sets:
        SyncState.objects.create(connection=conn, company=company, entity_set=name, watermark=now)
    SyncRun.objects.bulk_create(
        (
            SyncRun(
                connection=conn,
                company=company,
                entity_set=sets[n % len(sets)],
                kind="incremental",
                status="failed" if n % 50 == 0 else "succeeded",
                started_at=now - timedelta(seconds=30 * n),
                fetched=n % 40,
            )
            for n in range(others)
        ),
        batch_size=batch,
    )
    WebhookDelivery.objects.bulk_create(
        (
            WebhookDelivery(
                connection=conn,
                method="POST",
                path="/bench",
                status="processed" if n % 20 else "invalid",
                received_at=now - timedelta(seconds=20 * n),
            )
            for n in range(others)
        ),
        batch_size=batch,
    )
    statuses = ("sent", "sent", "sent", "pending", "parked")
    OutboxMessage.objects.bulk_create(
        (
            OutboxMessage(
                connection=conn,
                company_id=str(company.bc_id),
                operation="create",
                entity_set="salesOrders",
                status=statuses[n % len(statuses)],
                created_at=now - timedelta(seconds=10 * n),
                last_error="BadRequest" if n % 5 == 4 else "",
            )
            for n in range(others)
        ),
        batch_size=batch,
    )


def child(items: int, invoices: int, others: int, rounds: int) -> dict[str, Any]:
    """Runs in the per-database process: migrate, fill, time the panels and the baseline."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bcbridge.models import Item, OutboxMessage, SalesInvoice, SyncRun, WebhookDelivery
    from bcbridge.views import _dashboard_data as data
    from bcbridge.views import _dashboard_health as health
    from bcbridge.views.dashboard import dashboard_context

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    _fill(items, invoices, others)
    filled = time.perf_counter() - started

    # one plain pass over each table: SUM of a column no index covers
    scans = {
        Item: "inventory",
        SalesInvoice: "total_amount_excluding_tax",
        SyncRun: "fetched",
        WebhookDelivery: "attempts",
        OutboxMessage: "attempts",
    }

    def baseline() -> None:
        with connection.cursor() as cursor:
            for model, column in scans.items():
                cursor.execute(f"SELECT SUM({column}) FROM {model._meta.db_table}")
                cursor.fetchone()

    panels = {
        "stock_levels": data.stock_levels,
        "sales_over_time": data.sales_over_time,
        "sync_health": health.sync_health,
        "webhook_health": health.webhook_health,
        "outbox_state": data.outbox_state,
    }
    with CaptureQueriesContext(connection) as queries:
        dashboard_context()
    return {
        "fill": filled,
        "baseline": _best(baseline, rounds),
        "panels": {name: _best(fn, rounds) for name, fn in panels.items()},
        "page": _best(dashboard_context, rounds),
        "queries": len(queries),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--others", type=int, default=20_000, help="sync runs, deliveries and outbox messages")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = ["--items", str(args.items), "--invoices", str(args.invoices), "--others", str(args.others)]
    if args.child:
        print(json.dumps(child(args.items, args.invoices, args.others, args.rounds)))
        return 0

    failed = False
    for database in args.databases.split(","):
        env = child_env("bench-dashboard", database, PG_DEFAULT)
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--rounds", str(args.rounds), *sizes],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{database}: failed\n{out.stderr[-3000:]}")
            failed = True
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = r["page"] / r["baseline"]
        failed |= ratio > 8
        print(
            f"{database:8} {args.items:,} items, {args.invoices:,} invoices, {args.others:,} runs/deliveries/"
            f"messages (filled in {r['fill']:.1f} s)"
        )
        for name, seconds in r["panels"].items():
            print(f"{database:8}   {name:16} {seconds * 1000:8.1f} ms")
        print(
            f"{database:8}   whole page       {r['page'] * 1000:8.1f} ms in {r['queries']} queries; baseline "
            f"one SUM pass over the 5 tables {r['baseline'] * 1000:.1f} ms -> {ratio:.1f}x "
            f"(target <= 8x) {'OK' if ratio <= 8 else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
