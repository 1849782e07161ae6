"""Benchmark pushing sales orders through the outbox, one request per order vs ``$batch``.

2,000 orders with 5 lines each (issue 7) are enqueued, then the dispatcher drains the
outbox; the same orders go once with one deep insert per order (the baseline) and once
in ``$batch`` requests of up to 100 deep inserts, in the same run against the same
emulator. Figures per run: enqueue rate, orders/s delivered, HTTP requests per order (from
bcbridge's request log) and retries (429s sent back to the outbox).

Two settings of BC's per-user limits (docs/bc/5-limits.md §5):

* ``unlimited``: the emulator's limits lifted, so the figure is bcbridge's own cost;
* ``limited``: BC's 6,000 requests per 300 s scaled down in time by ``--time-scale``
  (default 10: 600 per 30 s, the same 20 requests/s steady rate with a 10x smaller
  burst), and bcbridge's client-side limiter set to the same numbers.

Each run gets a fresh emulator in a separate process on a loopback port (2 cores: one
each). Customer and items are resolved once before timing (the external-id map is warm),
as in steady operation. Known bound (Nov 2026): the emulator deep-copies its store for
every deep insert (to roll back a failed nested insert), so its cost per order grows with
the orders inserted before and caps the figures; the requests per order are exact.

Usage::

    python bench/bench_push.py [--orders 2000] [--lines 5] [--time-scale 10] [--skip-limited]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import httpx
from _emulator_process import start_emulator_process


def start_emulator() -> tuple[str, Any]:
    return start_emulator_process()


def setup_django() -> None:
    os.environ.setdefault("BCBRIDGE_HOME", tempfile.mkdtemp(prefix="bench-push-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def set_limits(control: httpx.Client, requests: int, window: float) -> None:
    from django.conf import settings

    from bcbridge.conf import get_settings

    control.put(
        "/_emulator/limits", json={"requests_per_window": requests, "window_seconds": window, "max_concurrent": 5}
    )
    settings.BCBRIDGE = {**settings.BCBRIDGE, "RATE_LIMIT_REQUESTS": requests, "RATE_LIMIT_WINDOW": window}
    get_settings.cache_clear()


def make_connection(url: str, info: dict[str, Any]) -> Any:
    from bcbridge.emulator import EmulatorConfig
    from bcbridge.models import Connection, ExternalIdMap, OutboxMessage, RequestLog
    from bcbridge.sync.companies import load_companies

    OutboxMessage.objects.all().delete()
    ExternalIdMap.objects.all().delete()
    RequestLog.objects.all().delete()
    Connection.objects.filter(name="bench-push").delete()
    connection = Connection.objects.create(
        name="bench-push",
        api_url=url,
        authority_url=url,
        tenant=info["tenant"],
        environment=info["environment"],
        client_id=info["clientId"],
        client_secret=EmulatorConfig().client_secret,
        grant_type="client_credentials",
    )
    load_companies(connection)
    return connection


def warm_map(connection: Any, company_id: str, lines: int) -> tuple[str, list[str]]:
    """Pick a customer and ``lines`` items and resolve them into the external-id map."""
    from bcbridge.entities import BC
    from bcbridge.push import resolve_external_id

    with BC(connection) as bc:
        scope = bc.company(company_id)
        customer = next(iter(scope.customers.list(top=1)))["number"]
        items = [r["number"] for r in scope.items.list(filter="type eq 'Inventory' and blocked eq false", top=lines)]
        resolve_external_id(bc, company_id, "bench", "customers", customer)
        for number in items:
            resolve_external_id(bc, company_id, "bench", "items", number)
    return customer, items


def run(
    connection: Any, company_id: str, customer: str, items: list[str], orders: int, batch: bool, tag: str
) -> dict[str, float]:
    from django.db import transaction
    from django.utils import timezone

    from bcbridge.models import OutboxMessage, OutboxStatus, RequestLog
    from bcbridge.push import drain, sales_order

    OutboxMessage.objects.all().delete()
    RequestLog.objects.all().delete()
    started = time.perf_counter()
    with transaction.atomic():
        for n in range(orders):
            sales_order(
                connection,
                company_id,
                customer=customer,
                system="bench",
                external_document_number=f"{tag}-{n}",
                lines=[{"item": number, "quantity": 1 + (n + i) % 4} for i, number in enumerate(items)],
            )
    enqueue_seconds = time.perf_counter() - started
    started = time.perf_counter()
    retried = 0
    while True:
        result = drain(connection=connection, batch=batch, limit=1000)
        retried += result.retried
        open_messages = OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])
        if not open_messages.exists():
            break
        nxt = min(open_messages.values_list("next_attempt_at", flat=True))
        time.sleep(max(0.01, min(5.0, (nxt - timezone.now()).total_seconds())))
    seconds = time.perf_counter() - started
    sent = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count()
    parked = OutboxMessage.objects.filter(status=OutboxStatus.PARKED).count()
    requests = RequestLog.objects.filter(connection=connection).count()
    return {
        "enqueue/s": orders / enqueue_seconds,
        "orders/s": sent / seconds,
        "seconds": seconds,
        "sent": sent,
        "parked": parked,
        "http requests/order": requests / max(sent, 1),
        "retries": retried,
    }


def run_fresh(args: argparse.Namespace, label: str, requests: int, window: float, batch: bool) -> dict[str, float]:
    """One run against a fresh emulator with the given per-user limits."""
    url, stop = start_emulator()
    try:
        with httpx.Client(base_url=url, timeout=60) as control:
            info = control.get("/_emulator").json()
            connection = make_connection(url, info)
            company_id = str(connection.companies.first().bc_id)
            set_limits(control, 10**9, 300.0)
            customer, items = warm_map(connection, company_id, args.lines)
            set_limits(control, requests, window)
            tag = f"{label[:3]}-{'b' if batch else 'd'}"
            return run(connection, company_id, customer, items, args.orders, batch, tag)
    finally:
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=10.0, help="BC's 300 s window divided by this.")
    parser.add_argument("--skip-limited", action="store_true", help="Only the unlimited runs.")
    args = parser.parse_args()
    setup_django()
    from rich.console import Console
    from rich.table import Table

    settings_runs = [("unlimited", 10**9, 300.0)]
    if not args.skip_limited:
        settings_runs.append(("limited", int(6000 / args.time_scale), 300.0 / args.time_scale))
    rows = []
    for label, requests, window in settings_runs:
        for batch in (False, True):
            # A fresh emulator per run: its cost per insert grows with the records inserted
            # before, so runs must not inherit each other's orders (and limit windows).
            figures = run_fresh(args, label, requests, window, batch)
            rows.append((label, "$batch" if batch else "one per order", figures))
    console = Console(width=140)
    table = Table(title=f"bench_push: {args.orders} sales orders x {args.lines} lines")
    columns = [
        "limits",
        "mode",
        "orders/s",
        "vs baseline",
        "http requests/order",
        "retries",
        "sent",
        "parked",
        "enqueue/s",
    ]
    for column in columns:
        table.add_column(column, justify="right")
    baseline: dict[str, float] = {}
    for label, mode, figures in rows:
        baseline.setdefault(label, figures["orders/s"])
        table.add_row(
            label,
            mode,
            f"{figures['orders/s']:.1f}",
            f"{figures['orders/s'] / baseline[label]:.2f}x",
            f"{figures['http requests/order']:.3f}",
            f"{figures['retries']:.0f}",
            f"{figures['sent']:.0f}",
            f"{figures['parked']:.0f}",
            f"{figures['enqueue/s']:.0f}",
        )
    console.print(table)
    if any(figures["sent"] != args.orders for _, _, figures in rows):
        sys.exit("not every order was delivered")


if __name__ == "__main__":
    main()
