"""Benchmark the emulator's BC side: records/s served and memory of a 1,000,000-item company.

Serves ``GET companies({id})/items`` in-process (``Emulator.__call__`` through werkzeug, the
same path a socket request takes after parsing) and prints, per page size:

* seconds per page (built from the lazy generator + ``@odata.etag`` + orjson), median and
  best of ``--pages`` pages following ``@odata.nextLink``; target: a 20,000-item page under
  0.3 s (best run, on an otherwise idle machine);
* records/s;

* the baseline of the same run: the same 20,000 records built straight from the store, with
  their ``@odata.etag``, serialised alone by orjson (no HTTP, no query options);
* ``$orderby=lastModifiedDateTime`` pages (a sync's order): the first (which builds the
  sorted key index once) and the median of the next ones (bisection to the ``$skiptoken``);
* growth: every ``$orderby`` page of a set of N and of 4N items read in turn (a full sync's
  reads), 4N / N time (target <= 4.5: O(page) per page, not O(set));

then the time of a ``lastModifiedDateTime`` filter page, and memory for the company with
``--scale 2000`` = 1,000,000 items: ``tracemalloc`` peak while serving two 20,000-item
pages (measured after the timings, as tracing slows allocation ~10x) and ``ru_maxrss``.

Usage::

    python bench/bench_emulator.py [--scale 2000] [--pages 5] [--growth-scale 50]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from itertools import islice

import orjson
from werkzeug.test import Client

from bcbridge.emulator import Emulator, EmulatorConfig


def _walk(scale: float) -> float:
    """Seconds to read every ``$orderby=lastModifiedDateTime`` page (5,000) of a fresh emulator."""
    emulator = Emulator(EmulatorConfig(base_url="http://bench.emulator.test", scale=scale))
    token, _ = emulator.identity.issue_access_token(emulator.identity.app_subject(), delegated=False)
    headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=5000"}
    http = Client(emulator)
    config = emulator.config
    company = emulator.bc.companies()[0]["id"]
    link: str | None = (
        f"/v2.0/{config.tenant}/{config.environment}/api/v2.0/companies({company})/items?$orderby=lastModifiedDateTime"
    )
    t0 = time.perf_counter()
    while link:
        page = orjson.loads(http.get(link, headers=headers).get_data())
        link = page.get("@odata.nextLink", "").removeprefix(config.base_url) or None
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=2000.0)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--growth-scale", type=float, default=50.0, help="N = 500 x this items")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    emulator = Emulator(EmulatorConfig(base_url="http://bench.emulator.test", scale=args.scale))
    token, _ = emulator.identity.issue_access_token(emulator.identity.app_subject(), delegated=False)
    headers = {"Authorization": f"Bearer {token}"}
    http = Client(emulator)
    config = emulator.config
    company = emulator.bc.companies()[0]["id"]
    url = f"/v2.0/{config.tenant}/{config.environment}/api/v2.0/companies({company})/items"
    print(f"emulator built in {time.perf_counter() - started:.3f} s (scale {args.scale:g})")

    count = http.get(f"{url}/$count", headers=headers)
    print(f"items: {count.get_data(as_text=True)}")

    ok = True
    for size in (20_000, 1_000):
        timings = []
        served = 0
        link = url
        for _ in range(args.pages):
            t0 = time.perf_counter()
            answer = http.get(link, headers={**headers, "Prefer": f"odata.maxpagesize={size}"})
            body = answer.get_data()
            timings.append(time.perf_counter() - t0)
            page = orjson.loads(body)
            served += len(page["value"])
            link = page["@odata.nextLink"].removeprefix(config.base_url)
        median, best = statistics.median(timings), min(timings)
        line = f"page size {size:>6}: median {median:.3f} s/page ({size / median:,.0f} records/s), best {best:.3f} s"
        if size == 20_000:
            # The best run is the capability; the median also shows noise from other load.
            ok = best < 0.3
            line += f" (target best < 0.300 s: {'ok' if ok else 'MISSED'})"
        print(line)

    store = emulator.bc.store
    baseline = []
    for _ in range(args.pages):
        t0 = time.perf_counter()
        etag = store.etagger(company, "items")
        rows = [{"@odata.etag": etag(o, r), **r} for o, r in islice(store.iter(company, "items"), 20_000)]
        orjson.dumps({"value": rows})
        baseline.append(time.perf_counter() - t0)
    print(
        f"baseline, the same 20,000 records built and serialised alone: best {min(baseline):.3f} s, "
        f"median {statistics.median(baseline):.3f} s"
    )

    ordered = []
    link = f"{url}?$orderby=lastModifiedDateTime"
    for _ in range(args.pages + 1):
        t0 = time.perf_counter()
        page = orjson.loads(http.get(link, headers={**headers, "Prefer": "odata.maxpagesize=20000"}).get_data())
        ordered.append(time.perf_counter() - t0)
        link = page["@odata.nextLink"].removeprefix(config.base_url)
    print(
        f"$orderby=lastModifiedDateTime, 20,000 per page: first {ordered[0]:.3f} s (builds the index), "
        f"then median {statistics.median(ordered[1:]):.3f} s, best {min(ordered[1:]):.3f} s "
        f"({min(ordered[1:]) / min(baseline):.2f}x the baseline)"
    )
    walks = [_walk(args.growth_scale), _walk(4 * args.growth_scale)]
    growth = walks[1] / walks[0]
    ok = ok and growth <= 4.5
    print(
        f"growth: all $orderby pages of {int(500 * args.growth_scale):,} items {walks[0]:.2f} s, of "
        f"{int(2000 * args.growth_scale):,} items {walks[1]:.2f} s -> 4N/N {growth:.2f} "
        f"(target <= 4.5: {'ok' if growth <= 4.5 else 'MISSED'})"
    )

    anchor = emulator.bc.store.company(company).anchor
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(anchor / 1000 - 86_400))
    for attempt in ("first, builds the timestamp index", "again"):
        t0 = time.perf_counter()
        answer = http.get(f"{url}?$filter=lastModifiedDateTime gt {stamp}&$count=true", headers=headers)
        matched = orjson.loads(answer.get_data())["@odata.count"]
        print(
            f"incremental filter (lastModifiedDateTime gt anchor - 1 day, {matched} rows), "
            f"{attempt}: {time.perf_counter() - t0:.3f} s"
        )

    tracemalloc.start()
    link = url
    for _ in range(2):
        page = orjson.loads(http.get(link, headers=headers).get_data())
        link = page["@odata.nextLink"].removeprefix(config.base_url)
    current, peak = tracemalloc.get_traced_memory()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"memory: tracemalloc current {current / 2**20:.1f} MiB, peak while serving "
        f"{peak / 2**20:.1f} MiB; max RSS {rss_kib / 1024:.1f} MiB"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
