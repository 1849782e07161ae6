"""Benchmark the REST API: items list pages per second and p99 latency, against the same ORM
query alone in the same run; events delivered per second, against raw httpx POSTs.

Fills one database with a mirror of ``--items`` items (default 100,000, bulk inserts), then:

* **API**: walks ``--pages`` pages of ``GET /bcbridge/api/v1/items?limit=L`` with the cursor,
  through the site's WSGI application in-process (Django's test client: authentication,
  throttle counter, keyset query, serialization, ETag), timing each page;
* **baseline**: the same keyset query with the ORM alone (``values_list`` of the same
  columns, ``WHERE pk > last ORDER BY pk LIMIT L+1``) for the same pages;
* **events**: ``--events`` events for one subscription delivered by
  :func:`bcbridge.events.delivery.deliver_due` to a local receiver (127.0.0.1, answers
  204), against the baseline of POSTing the same bodies with one httpx client.

Usage::

    python bench/bench_api.py [--items 100000] [--pages 200] [--limit 100] [--events 2000]
                              [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _databases import child_env

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/bench_api"



def _p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _fill(items: int) -> Any:
    import uuid
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from bcbridge.models import (
        ApiClient,
        Company,
        Connection,
        Event,
        EventAttempt,
        EventDelivery,
        EventSubscription,
        Item,
        ItemVariant,
    )

    # raw deletes of an earlier run's rows, children first: a cascading delete is slow
    for model in (EventAttempt, EventDelivery, Event, ItemVariant, Item):
        model._base_manager.all()._raw_delete("default")  # type: ignore[attr-defined]
    EventSubscription.objects.all().delete()
    ApiClient.objects.all().delete()
    Connection.objects.filter(name="bench-api").delete()
    conn = Connection.objects.create(name="bench-api", tenant="bench.example", client_id="bench")
    company = Company.objects.create(connection=conn, bc_id=uuid.uuid4(), name="BENCH", selected=True)
    now = datetime.now(UTC)
    batch = 5000
    for start in range(0, items, batch):
        Item.objects.bulk_create(
            Item(
                connection=conn,
                company=company,
                bc_id=uuid.uuid4(),
                number=f"{n:07d}",
                display_name=f"Item {n}",
                type="Inventory",
                inventory=Decimal((n * 7919) % 1000),
                unit_price=Decimal(n % 500) + Decimal("0.95"),
                base_unit_of_measure_code="PCS",
                etag=f'W/"JzQ0O{n}"',
                last_modified_date_time=now - timedelta(seconds=n),
                synced_at=now,
            )
            for n in range(start, min(start + batch, items))
        )
    return company


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _events(company: Any, count: int) -> dict[str, float]:
    import httpx

    from bcbridge.events.delivery import body_of, deliver_due, signed_headers
    from bcbridge.models import Event, EventDelivery, EventSubscription

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        subscription = EventSubscription.objects.create(name="bench", url=url)
        events = Event.objects.bulk_create(
            Event(
                type="item.updated",
                connection_id=company.connection_id,
                company=company,
                entity_set="items",
                subject=f"items/{company.bc_id}/{n}",
                data={"entitySet": "items", "record": {"id": str(n), "unitPrice": "1.5", "number": f"{n:07d}"}},
            )
            for n in range(count)
        )
        EventDelivery.objects.bulk_create(
            EventDelivery(event=e, subscription=subscription, subject=e.subject) for e in events
        )
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            while EventDelivery.objects.filter(status="pending").exists():
                deliver_due(client=client, limit=500)
        delivered = time.perf_counter() - started
        assert EventDelivery.objects.filter(status="delivered").count() == count
        from django.utils import timezone

        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            for event in events:
                body = body_of(event)
                headers = signed_headers(subscription.secret, f"msg_{event.event_id.hex}", body, timezone.now())
                client.post(url, content=body, headers={"content-type": "application/json", **headers})
        raw = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    return {"events_per_s": count / delivered, "raw_per_s": count / raw}


def child(items: int, pages: int, limit: int, events: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from bcbridge.events.records import plan
    from bcbridge.models import ApiClient, Item

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    company = _fill(items)
    filled = time.perf_counter() - started
    _, key = ApiClient.create_with_key("bench", ["read"], rate_limit=10_000_000)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    # one untimed request first: URL resolution and schema building happen once per process
    assert client.get("/bcbridge/api/v1/items", {"limit": limit}).status_code == 200
    api_times: list[float] = []
    cursor = None
    for _ in range(pages):
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        start = time.perf_counter()
        answer = client.get("/bcbridge/api/v1/items", params)
        api_times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.content[:300]
        cursor = answer.json()["nextCursor"]
        if cursor is None:
            break

    fields = plan(Item).fields
    columns = [f.attname for f in fields]
    orm_times: list[float] = []
    last = 0
    for _ in range(len(api_times)):
        start = time.perf_counter()
        rows = list(
            Item.all_objects.filter(company=company, deleted=False, pk__gt=last)
            .order_by("pk")
            .values_list("pk", *columns)[: limit + 1]
        )
        orm_times.append(time.perf_counter() - start)
        last = rows[limit - 1][0] if len(rows) > limit else 0
    return {
        "fill": filled,
        "pages": len(api_times),
        "api_pages_per_s": len(api_times) / sum(api_times),
        "api_p99_ms": _p99(api_times) * 1000,
        "orm_pages_per_s": len(orm_times) / sum(orm_times),
        "orm_p99_ms": _p99(orm_times) * 1000,
        **_events(company, events),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = ["--items", str(args.items), "--pages", str(args.pages), "--limit", str(args.limit)]
    sizes += ["--events", str(args.events)]
    if args.child:
        print(json.dumps(child(args.items, args.pages, args.limit, args.events)))
        return 0
    failed = False
    for database in args.databases.split(","):
        env = child_env("bench-api", database, PG_DEFAULT)
        out = subprocess.run(
            [sys.executable, __file__, "--child", *sizes], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            print(f"{database}: failed\n{out.stderr[-3000:]}")
            failed = True
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{database:8} {args.items:,} items (filled in {r['fill']:.1f} s), {r['pages']} pages of {args.limit}")
        print(
            f"{database:8}   API  {r['api_pages_per_s']:8.1f} pages/s  p99 {r['api_p99_ms']:7.1f} ms   "
            f"ORM alone {r['orm_pages_per_s']:8.1f} pages/s  p99 {r['orm_p99_ms']:7.1f} ms   "
            f"-> {r['orm_pages_per_s'] / r['api_pages_per_s']:.1f}x the baseline's time"
        )
        print(
            f"{database:8}   events {r['events_per_s']:8.1f} delivered/s   raw signed httpx POSTs "
            f"{r['raw_per_s']:8.1f}/s -> {r['raw_per_s'] / r['events_per_s']:.1f}x"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
