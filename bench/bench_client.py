"""Benchmark BCClient and iter_records against raw httpx on the same emulator, same run.

Prints two figures with their targets (issue 4):

* client overhead per request: ``BCClient.get_json`` vs ``httpx.Client.get`` + ``orjson.loads``
  of the same small answer (target: at most 1.1x the raw time);
* records/s of ``iter_records`` over 200,000 items vs a raw loop of GET + ``orjson.loads``
  following ``@odata.nextLink`` over the same pages (target: at least 0.9x raw).

The emulator (``bcbridge.emulator.server.EmulatorServer``) runs on a loopback port in a
separate process (``--in-thread`` keeps it in this one), its per-user limits lifted so the
run measures the client, not BC's throttling. Raw and client runs alternate in rounds so
drift (CPU frequency, caches) hits both alike.

Usage::

    python bench/bench_client.py [--items 200000] [--requests 2000] [--page-size 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import httpx
import orjson
from _emulator_process import start_emulator_process

from bcbridge.emulator.config import BC_SCOPE
from bcbridge.http import BCClient, BCUrls
from bcbridge.odata import Query, iter_records


class Bearer(httpx.Auth):
    """A fixed token: the token manager is not what is measured here."""

    def __init__(self, token: str) -> None:
        self.header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self.header
        yield request


def start_emulator(scale: float, in_thread: bool) -> tuple[str, Any]:
    if in_thread:
        from bcbridge.emulator import Emulator, EmulatorConfig
        from bcbridge.emulator.server import EmulatorServer

        server = EmulatorServer(Emulator(EmulatorConfig(scale=scale))).start()
        return server.url, server.stop
    return start_emulator_process({"scale": scale})


def prepare(url: str) -> tuple[BCUrls, str]:
    with httpx.Client(base_url=url, timeout=60) as control:
        info = control.get("/_emulator").json()
        control.put("/_emulator/limits", json={"requests_per_window": 10**9, "max_concurrent": 100})
        token = control.post(
            f"/{info['tenant']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["clientId"],
                "client_secret": _secret(),
                "scope": BC_SCOPE,
            },
        )
        token.raise_for_status()
    return BCUrls(url, info["tenant"], info["environment"]), token.json()["access_token"]


def _secret() -> str:
    from bcbridge.emulator import EmulatorConfig

    return EmulatorConfig().client_secret


def raw_pages(http: httpx.Client, url: str, page_size: int) -> int:
    """The baseline: GET, parse, follow nextLink, and visit every record once (as the
    ``sum(1 for _ in iter_records(...))`` consumer on the other side does)."""
    count = 0
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    next_url: str | None = url
    while next_url:
        page = orjson.loads(http.get(next_url, headers=headers).content)
        count += sum(1 for _ in page["value"])
        next_url = page.get("@odata.nextLink")
    return count


def bench_overhead(http: httpx.Client, client: BCClient, url: str, n: int) -> tuple[float, float]:
    """Median seconds per request of each side, timed in interleaved pairs (ABBA order)."""
    for _ in range(min(100, n)):  # warm up both connections and code paths
        orjson.loads(http.get(url).content)
        client.get_json(url)
    raw_times, client_times = [], []

    def raw() -> None:
        started = time.perf_counter()
        orjson.loads(http.get(url).content)
        raw_times.append(time.perf_counter() - started)

    def ours() -> None:
        started = time.perf_counter()
        client.get_json(url)
        client_times.append(time.perf_counter() - started)

    for i in range(n):
        first, second = (raw, ours) if i % 2 == 0 else (ours, raw)
        first()
        second()
    return statistics.median(raw_times), statistics.median(client_times)


def bench_cpu_overhead(n: int = 20_000) -> tuple[float, float]:
    """Seconds per request of each side over a MockTransport: the client's own CPU cost."""
    body = b'{"value":[{"id":"1","name":"CRONUS"}]}'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    transport = httpx.MockTransport(answer)
    url = "http://bc.test/v2.0/t/production/api/v2.0/companies"
    http = httpx.Client(transport=transport, headers={"Authorization": "Bearer x"})
    client = BCClient("http://bc.test/v2.0/t/production/api/v2.0/", Bearer("x"), transport=transport)
    with http, client:
        for _ in range(500):
            orjson.loads(http.get(url).content)
            client.get_json(url)
        started = time.perf_counter()
        for _ in range(n):
            orjson.loads(http.get(url).content)
        raw = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for _ in range(n):
            client.get_json(url)
        ours = (time.perf_counter() - started) / n
    return raw, ours


def bench_records(
    http: httpx.Client, client: BCClient, url: str, page_size: int, runs: int
) -> tuple[float, float, int, float, float]:
    """Best records/s of each side over ``runs`` full reads, in ABBA order.

    Returns:
        ``(raw records/s, client records/s, records, raw CPU s, client CPU s)``; the CPU
        seconds are this process's (the client side's) best run, without the server's.
    """
    raw_rates: list[float] = []
    client_rates: list[float] = []
    raw_cpu: list[float] = []
    client_cpu: list[float] = []
    counts: set[int] = set()

    def raw() -> None:
        started, cpu = time.perf_counter(), time.process_time()
        count = raw_pages(http, url, page_size)
        raw_rates.append(count / (time.perf_counter() - started))
        raw_cpu.append(time.process_time() - cpu)
        counts.add(count)

    def ours() -> None:
        started, cpu = time.perf_counter(), time.process_time()
        count = sum(1 for _ in iter_records(client, url, page_size=page_size))
        client_rates.append(count / (time.perf_counter() - started))
        client_cpu.append(time.process_time() - cpu)
        counts.add(count)

    for i in range(runs):
        first, second = (raw, ours) if i % 2 == 0 else (ours, raw)
        first()
        second()
    if len(counts) != 1:
        raise SystemExit(f"the two sides saw different record counts: {sorted(counts)}")
    return max(raw_rates), max(client_rates), counts.pop(), min(raw_cpu), min(client_cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000, help="items in the demo company")
    parser.add_argument("--requests", type=int, default=2000, help="small requests per side")
    parser.add_argument("--page-size", type=int, default=20_000, help="odata.maxpagesize")
    parser.add_argument("--runs", type=int, default=4, help="full reads per side")
    parser.add_argument("--in-thread", action="store_true", help="serve from this process")
    args = parser.parse_args(argv)

    url, stop = start_emulator(args.items / 500, args.in_thread)
    try:
        urls, token = prepare(url)
        auth = Bearer(token)
        limits = httpx.Limits(max_connections=5, max_keepalive_connections=5)
        http = httpx.Client(
            headers={"Authorization": auth.header, "Accept": "application/json"},
            limits=limits,
            timeout=120,
        )
        client = BCClient(urls.api_root() + "/", auth, timeout=120)
        with http, client:
            companies = client.get_json("companies")["value"]
            sizes = {}
            for company in companies:
                first = client.get_json(urls.entity_set(company["id"], "items"), params=Query().count().top(0).params())
                sizes[company["id"]] = first.get("@odata.count", 0)
            company_id = max(sizes, key=sizes.__getitem__)
            small = urls.companies()
            raw_s, client_s = bench_overhead(http, client, small, args.requests)
            items_url = urls.entity_set(company_id, "items")
            raw_rate, client_rate, count, raw_cpu, client_cpu = bench_records(
                http, client, items_url, args.page_size, args.runs
            )
    finally:
        stop()

    cpu_raw, cpu_client = bench_cpu_overhead()
    overhead = client_s / raw_s
    ratio = client_rate / raw_rate
    print(f"emulator: {url} ({'thread' if args.in_thread else 'process'}), items: {count:,}")
    print(
        f"request overhead: raw httpx {raw_s * 1e6:,.0f} us, BCClient {client_s * 1e6:,.0f} us "
        f"-> {overhead:.3f}x (target <= 1.10x) {'OK' if overhead <= 1.10 else 'MISSED'}"
    )
    print(
        f"client CPU per request (mock transport, no network): raw httpx {cpu_raw * 1e6:,.0f} us, "
        f"BCClient {cpu_client * 1e6:,.0f} us (+{(cpu_client - cpu_raw) * 1e6:,.0f} us)"
    )
    print(
        f"iter_records: raw {raw_rate:,.0f} records/s, iter_records {client_rate:,.0f} records/s "
        f"-> {ratio:.3f}x (target >= 0.90x) {'OK' if ratio >= 0.90 else 'MISSED'}"
    )
    print(
        f"iter_records client CPU for {count:,} records: raw {raw_cpu:.2f} s, "
        f"iter_records {client_cpu:.2f} s -> {client_cpu / raw_cpu:.3f}x"
    )
    print("(wall-clock figures are noisy on a shared machine; run it on an idle one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
