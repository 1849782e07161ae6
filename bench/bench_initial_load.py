"""Benchmark first loads side by side, in one run: raw fetch, a hand-tuned loader, bcbridge
single-stream, bcbridge parallel (partitioned) and dlt, at zero and at realistic BC latency.

For each database (SQLite, PostgreSQL), each emulator latency setting and each set (items
with variants, sales invoices with lines, G/L entries), ``--rounds`` times in turn:

* **raw fetch**: GET + parse of every page with plain httpx + orjson, nothing stored
  (one stream; the ceiling of one stream);
* **loader**: the hand-tuned loader of ``bench/_loader.py`` (httpx + orjson, two pages
  prefetched, COPY/``executemany`` upserts into its own tables; not bcbridge);
* **single**: ``sync_entity_set(full=True, streams=1)`` into an empty mirror;
* **parallel**: ``sync_entity_set(full=True, streams=N)`` (ranges of ``lastModifiedDateTime``);
* **dlt** (PostgreSQL, when the ``bench`` extra is installed): a resource yielding the same
  pages, ``write_disposition="merge"`` on ``id`` into the same database.

It prints the median seconds of each and the ratios ``loader / single``, ``loader /
parallel`` (> 1: bcbridge faster) and ``single / parallel`` with their spread (min-max over
the rounds, each ratio taken within one round), the peak RSS the parallel sync added at 25%
and at 100% of the records (flat = bounded by a few pages), and the emulator's counters:
most requests of one user in flight at once (BC allows 5) and 429s (must be 0).

Latency settings: ``0`` and ``realistic`` (``--latency-ms 150 --per-record-us 100``,
**UNVERIFIED** estimates, ``docs/emulator-latency.md``). The emulator runs in its own
process; ``--items`` sets its scale (items / 500; invoices = items / 5, G/L entries = 3 x
invoices). Start small: the machine is shared.

Usage::

    python bench/bench_initial_load.py [--items 10000] [--rounds 3] [--streams 5]
        [--databases sqlite,postgres] [--latency 0,realistic] [--sets items,salesInvoices,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).parent))

import httpx
from _databases import child_env
from _emulator_process import start_emulator_process
from _loader import Loader, fetch_pages, prefetch, raw_fetch

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/bcbridge_bench"
CHILDREN = {"items": "itemVariants", "salesInvoices": "salesInvoiceLines", "generalLedgerEntries": ""}
LATENCY = {"0": (0.0, 0.0), "realistic": (150.0, 100.0)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemoryWatch:
    """A sync progress reporter that samples RSS after each page."""

    wants_total = False

    def __init__(self, total: int) -> None:
        self.total, self.base, self.done = total, _rss_mb(), 0
        self.peak = self.base
        self.quarter: float | None = None

    def started(self, run: Any, total: int | None) -> None:
        pass

    def page(self, run: Any, records: int) -> None:
        self.done += records
        self.peak = max(self.peak, _rss_mb())
        if self.quarter is None and self.done >= self.total / 4:
            self.quarter = self.peak

    def finished(self, run: Any) -> None:
        pass


def _token(http: httpx.Client, info: dict[str, Any]) -> str:
    from bcbridge.emulator import EmulatorConfig
    from bcbridge.emulator.config import BC_SCOPE

    answer = http.post(
        f"/{info['tenant']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info["clientId"],
            "client_secret": EmulatorConfig().client_secret,
            "scope": BC_SCOPE,
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _dlt_load(dsn: str, http: httpx.Client, url: str, params: dict[str, str], size: int, name: str) -> float:
    import dlt

    @dlt.resource(name=f"dlt_{name}", primary_key="id", write_disposition="merge")
    def records() -> Any:
        for page in fetch_pages(http, url, params, size):
            yield page["value"]

    # dlt insists on a password; the local server trusts loopback connections, so any will do
    parts = urlsplit(dsn)
    if parts.password is None:
        dsn = urlunsplit(
            parts._replace(netloc=f"{parts.username or 'postgres'}:unused@{parts.hostname}:{parts.port or 5432}")
        )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{name}",
        destination=dlt.destinations.postgres(credentials=dsn),
        dataset_name="bench_dlt",
        pipelines_dir=str(Path(tempfile.gettempdir()) / "bench-dlt"),
    )
    pipeline.drop()
    started = time.perf_counter()
    pipeline.run(records())
    return time.perf_counter() - started


def child(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """Runs in the per-database process: every measurement of one database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bcbridge.emulator import EmulatorConfig
    from bcbridge.entities import BC, EntitySetClient
    from bcbridge.models import Connection, MirrorRecord, SyncRun, SyncState
    from bcbridge.sync.companies import load_companies
    from bcbridge.sync.engine import sync_entity_set
    from bcbridge.sync.registry import registered

    call_command("migrate", verbosity=0)
    database = settings.DATABASES["default"]
    postgres = database["ENGINE"].endswith("postgresql")
    dsn = os.environ["DATABASE_URL"] if postgres else f"sqlite:///{database['NAME']}"
    models = sorted({m.model for m in registered().values()}, key=lambda m: not hasattr(m, "parent"))

    def empty_mirror() -> None:
        for model in models:
            model.all_objects.all()._raw_delete("default")  # type: ignore[attr-defined]
        MirrorRecord.all_objects.all()._raw_delete("default")
        SyncState.objects.all().delete()

    empty_mirror()
    SyncRun.objects.all().delete()
    control = httpx.Client(base_url=url, timeout=600)
    info = control.get("/_emulator").json()
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
    size, streams, rounds = options["page_size"], options["streams"], options["rounds"]
    results: list[dict[str, Any]] = []
    raw_http = httpx.Client(base_url=url, timeout=600, headers={"Authorization": f"Bearer {_token(control, info)}"})
    with BC(connection) as bc:
        companies = load_companies(connection, bc)

        def items(company: Any) -> int:
            return int(bc.client.request("GET", bc.urls.entity_set(str(company.bc_id), "items") + "/$count").text)

        company = max(companies, key=items)
        for latency in options["latency"]:
            latency_ms, per_record_us = LATENCY[latency]
            control.put("/_emulator/limits", json={"latency_ms": latency_ms, "per_record_us": per_record_us})
            for entity_set in options["sets"]:
                kids = CHILDREN[entity_set]
                set_url = EntitySetClient(bc, str(company.bc_id), entity_set).url
                params = {"$orderby": "lastModifiedDateTime", **({"$expand": kids} if kids else {})}
                times: dict[str, list[float]] = {k: [] for k in ("raw", "loader", "single", "parallel", "dlt")}
                rss = (0.0, 0.0)
                records = 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    records = raw_fetch(raw_http, set_url, params, size, kids)
                    times["raw"].append(time.perf_counter() - started)

                    loader = Loader(dsn, entity_set, kids)
                    started = time.perf_counter()
                    for page in prefetch(fetch_pages(raw_http, set_url, params, size)):
                        loader.write(page["value"])
                    times["loader"].append(time.perf_counter() - started)
                    assert loader.count() == records, (loader.count(), records)
                    loader.close()

                    for label, count in (("single", 1), ("parallel", streams)):
                        empty_mirror()
                        watch = MemoryWatch(records)
                        started = time.perf_counter()
                        run = sync_entity_set(
                            bc,
                            company,
                            entity_set,
                            full=True,
                            children=[kids] if kids else [],
                            page_size=size,
                            progress=watch,
                            streams=count,
                        )
                        times[label].append(time.perf_counter() - started)
                        if run.status != SyncRun.Status.SUCCEEDED or run.created != records:
                            raise SystemExit(f"{entity_set}: {label} {run.status} {run.error}, {run.created}/{records}")
                        if label == "parallel":
                            rss = max(rss, ((watch.quarter or watch.peak) - watch.base, watch.peak - watch.base))
                    if postgres and options["dlt"]:
                        times["dlt"].append(_dlt_load(dsn, raw_http, set_url, params, size, entity_set))
                results.append({"latency": latency, "set": entity_set, "records": records, "times": times, "rss": rss})
    raw_http.close()
    users = control.get("/_emulator/counters").json().get("users", {})
    control.close()
    return {"results": results, "users": users}


def _spread(pairs: list[tuple[float, float]]) -> str:
    ratios = [a / b for a, b in pairs if b]
    if not ratios:
        return "     -"
    return f"{statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def report(database: str, data: dict[str, Any]) -> bool:
    ok = True
    print(f"\n{database}: median seconds; ratios median (min-max over rounds)")
    print(
        f"{'latency':9} {'set':21} {'records':>9} {'raw':>7} {'loader':>7} {'single':>7} {'parallel':>8} "
        f"{'dlt':>7}  {'loader/single':>20} {'loader/parallel':>20} {'single/parallel':>20}  RSS+ 25%/100%"
    )
    for r in data["results"]:
        t = r["times"]
        med = {k: (statistics.median(v) if v else None) for k, v in t.items()}
        cell = {k: (f"{v:7.2f}" if v is not None else "      -") for k, v in med.items()}
        print(
            f"{r['latency']:9} {r['set']:21} {r['records']:>9,} {cell['raw']} {cell['loader']} {cell['single']} "
            f"{cell['parallel']:>8} {cell['dlt']}  {_spread(list(zip(t['loader'], t['single'], strict=True))):>20} "
            f"{_spread(list(zip(t['loader'], t['parallel'], strict=True))):>20} "
            f"{_spread(list(zip(t['single'], t['parallel'], strict=True))):>20}  "
            f"{r['rss'][0]:.0f}/{r['rss'][1]:.0f} MB"
        )
        if t["dlt"]:
            dlt_ratio = statistics.median(t["dlt"]) / statistics.median(t["parallel"])
            print(f"{'':31} dlt / bcbridge parallel: {dlt_ratio:.2f}x {'OK' if dlt_ratio > 1 else 'MISSED'}")
            ok &= dlt_ratio > 1
    for user, state in data["users"].items():
        within = state["peak_active"] <= 5 and state["rejected"] == 0
        ok &= within
        print(
            f"emulator, user {user[:8]}: at most {state['peak_active']} requests in flight (BC: 5), "
            f"{state['rejected']} x 429 {'OK' if within else 'MISSED'}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--streams", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--latency", default="0,realistic", help="comma list of: " + ", ".join(LATENCY))
    parser.add_argument("--sets", default="items,salesInvoices,generalLedgerEntries")
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt even when installed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.options))))
        return 0
    try:
        import dlt  # noqa: F401

        use_dlt = not args.no_dlt
    except ImportError:
        use_dlt = False
        print("dlt not installed (pip install -e '.[bench]'): its column is skipped")
    options = {
        "page_size": args.page_size,
        "streams": args.streams,
        "rounds": args.rounds,
        "latency": args.latency.split(","),
        "sets": args.sets.split(","),
        "dlt": use_dlt,
    }
    url, stop = start_emulator_process({"scale": args.items / 500}, {"requests_per_window": 10**9})
    ok = True
    try:
        for database in args.databases.split(","):
            env = child_env("bench-initial-load", database, PG_DEFAULT)
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, "--options", json.dumps(options)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{database}: failed\n{out.stderr[-3000:]}")
                ok = False
                continue
            ok &= report(database, json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
