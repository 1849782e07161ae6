"""Benchmark the mirror: full sync of items with variants and sales invoices with lines.

For each database (SQLite, then PostgreSQL) and each entity set, in the same run:

* **raw fetch**: the same pages (same ``$expand``, ``$orderby`` and page size) fetched with
  plain httpx and parsed with orjson (``bench/_loader.py``, not bcbridge's client: no
  limiter, no request log), nothing stored: the ceiling;
* **sync**: :func:`bcbridge.sync.engine.sync_entity_set` with ``full=True`` into an empty mirror.

It prints records/s of both (records = headers + children), their ratio (target: sync at
least 0.5x raw) and the peak resident memory the sync added, measured after the first
quarter of the records and at the end (target: flat, bounded by a page, not growing with
the number of records).

The emulator runs in its own process (scale = items / 500, so 100,000 items come with
20,000 sales invoices); each database runs in a child process with its own settings.

Usage::

    python bench/bench_sync.py [--items 100000] [--page-size 5000] [--databases sqlite,postgres]

``DATABASE_URL_POSTGRES`` (default ``postgres://postgres@127.0.0.1:5432/bcbridge_bench``)
names the PostgreSQL database; it is created when missing and its mirror tables emptied.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _databases import child_env
from bench_client import start_emulator

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/bcbridge_bench"
SETS = (("items", "itemVariants"), ("salesInvoices", "salesInvoiceLines"))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemoryWatch:
    """A sync progress reporter that samples RSS after each page."""

    wants_total = False

    def __init__(self, total: int) -> None:
        self.total = total
        self.base = _rss_mb()
        self.peak = self.base
        self.peak_at_quarter: float | None = None
        self.done = 0

    def started(self, run: Any, total: int | None) -> None:
        pass

    def page(self, run: Any, records: int) -> None:
        self.done += records
        self.peak = max(self.peak, _rss_mb())
        if self.peak_at_quarter is None and self.done >= self.total / 4:
            self.peak_at_quarter = self.peak

    def finished(self, run: Any) -> None:
        pass



def child(url: str, page_size: int, rounds: int) -> dict[str, Any]:
    """Runs in the per-database process: migrate, connect, then raw fetch and sync per set."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    django.setup()
    from django.core.management import call_command

    from bcbridge.emulator import EmulatorConfig
    from bcbridge.entities import BC, EntitySetClient
    from bcbridge.models import Connection, MirroredModel, MirrorRecord, SyncRun, SyncState
    from bcbridge.odata import Query
    from bcbridge.sync.companies import load_companies
    from bcbridge.sync.engine import sync_entity_set
    from bcbridge.sync.registry import registered

    call_command("migrate", verbosity=0)
    # children first: their parent foreign keys are checked on SQLite too
    models = sorted({m.model for m in registered().values()}, key=lambda m: not hasattr(m, "parent"))
    for model in models:
        model.all_objects.all()._raw_delete("default")  # type: ignore[attr-defined]
    MirrorRecord.all_objects.all()._raw_delete("default")
    SyncRun.objects.all().delete()
    SyncState.objects.all().delete()
    assert issubclass(registered()[("", "items")].model, MirroredModel)
    info = __import__("httpx").get(f"{url}/_emulator").json()
    Connection.objects.filter(name="bench").defer("client_secret", "token").delete()
    connection = Connection.objects.create(
        name="bench",
        api_url=url,
        authority_url=url,
        tenant=info["tenant"],
        environment=info["environment"],
        client_id=info["clientId"],
        client_secret=EmulatorConfig().client_secret,
    )
    results: dict[str, Any] = {}
    from _loader import raw_fetch
    from bench_initial_load import _token

    plain = httpx_client(url)
    plain.headers["Authorization"] = f"Bearer {_token(plain, info)}"
    with BC(connection) as bc:
        companies = load_companies(connection, bc)
        sizes = {}
        for company in companies:
            page = bc.client.get_json(
                bc.urls.entity_set(str(company.bc_id), "items"), params=Query().count().top(0).params()
            )
            sizes[company.pk] = page.get("@odata.count", 0)
        company = max(companies, key=lambda c: sizes[c.pk])
        for entity_set, children in SETS:
            mirror = registered()[("", entity_set)]
            child_model = registered()[("", children)].model
            raw_rates, sync_rates, rss = [], [], (0.0, 0.0)
            for _ in range(rounds):  # alternate raw and sync; keep the best of each
                client = EntitySetClient(bc, str(company.bc_id), entity_set)
                params = Query().orderby("lastModifiedDateTime").expand(children).params()
                started = time.perf_counter()
                total = raw_fetch(plain, client.url, params, page_size, children)
                raw_rates.append(total / (time.perf_counter() - started))
                child_model.all_objects.all()._raw_delete("default")  # type: ignore[attr-defined]
                mirror.model.all_objects.all()._raw_delete("default")  # type: ignore[attr-defined]
                watch = MemoryWatch(total)
                started = time.perf_counter()
                run = sync_entity_set(
                    bc, company, entity_set, full=True, children=[children], page_size=page_size, progress=watch
                )
                sync_rates.append(total / (time.perf_counter() - started))
                headers = run.fetched - child_model.objects.count()
                lines = total - headers
                if run.status != SyncRun.Status.SUCCEEDED or run.fetched != total or run.created != total:
                    raise SystemExit(f"{entity_set}: sync {run.status} {run.error}, {run.created} of {total}")
                # the first round shows the growth (later rounds reuse memory already taken)
                rss = max(rss, ((watch.peak_at_quarter or watch.peak) - watch.base, watch.peak - watch.base))
            results[entity_set] = {
                "headers": headers,
                "children": lines,
                "raw_rate": max(raw_rates),
                "sync_rate": max(sync_rates),
                "rss_quarter": rss[0],
                "rss_end": rss[1],
            }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=2, help="raw/sync rounds per set (best of each kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.page_size, args.rounds)))
        return 0

    url, stop = start_emulator(args.items / 500, in_thread=False)
    failed = False
    try:
        with httpx_client(url) as control:
            control.put("/_emulator/limits", json={"requests_per_window": 10**9, "max_concurrent": 100})
        for database in args.databases.split(","):
            env = child_env("bench-sync", database, PG_DEFAULT)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    url,
                    "--page-size",
                    str(args.page_size),
                    "--rounds",
                    str(args.rounds),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{database}: failed\n{out.stderr[-3000:]}")
                failed = True
                continue
            results = json.loads(out.stdout.strip().splitlines()[-1])
            for entity_set, r in results.items():
                ratio = r["sync_rate"] / r["raw_rate"]
                flat = r["rss_end"] <= max(2 * r["rss_quarter"], r["rss_quarter"] + 64)
                failed |= ratio < 0.5 or not flat
                print(
                    f"{database:8} {entity_set:14} {r['headers']:>7,} + {r['children']:>7,} children: "
                    f"raw fetch {r['raw_rate']:>8,.0f} rec/s, sync {r['sync_rate']:>8,.0f} rec/s "
                    f"-> {ratio:.2f}x (target >= 0.5x) {'OK' if ratio >= 0.5 else 'MISSED'}; "
                    f"peak RSS added {r['rss_quarter']:.0f} MB at 25%, {r['rss_end']:.0f} MB at 100% "
                    f"{'(flat) OK' if flat else '(grows) MISSED'}"
                )
    finally:
        stop()
    return 1 if failed else 0


def httpx_client(url: str) -> Any:
    import httpx

    return httpx.Client(base_url=url, timeout=60)


if __name__ == "__main__":
    raise SystemExit(main())
