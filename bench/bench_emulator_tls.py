"""Benchmark the cost of ``--tls``: the same requests over plain http and over https.

Starts one emulator on a real loopback port without TLS (the baseline, measured in the same
run) and one with the local CA's certificate, then for each: ``--requests`` sequential GETs
of ``companies({id})/items?$top=N`` on one kept-alive httpx connection (requests/s, median
latency) and ``--connections`` fresh connections (one request each: the TLS handshake's
cost). Prints the ratio TLS / plain for each figure.

Usage::

    python bench/bench_emulator_tls.py [--requests 300] [--connections 50] [--top 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.server import EmulatorServer
from bcbridge.emulator.tls import ensure_certificates


def _token(http: httpx.Client, config: EmulatorConfig) -> str:
    answer = http.post(
        f"/{config.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": "https://api.businesscentral.dynamics.com/.default",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _measure(server: EmulatorServer, verify: object, args: argparse.Namespace) -> dict[str, float]:
    config = server.emulator.config
    with httpx.Client(base_url=server.url, verify=verify, timeout=30) as http:  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {_token(http, config)}"}
        api = f"/v2.0/{config.tenant}/{config.environment}/api/v2.0"
        company = http.get(f"{api}/companies", headers=headers).json()["value"][0]["id"]
        url = f"{api}/companies({company})/items"
        params = {"$top": str(args.top)}
        http.get(url, headers=headers, params=params).raise_for_status()  # warm up
        latencies = []
        started = time.perf_counter()
        for _ in range(args.requests):
            begin = time.perf_counter()
            http.get(url, headers=headers, params=params).raise_for_status()
            latencies.append(time.perf_counter() - begin)
        kept_alive = args.requests / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(args.connections):
        with httpx.Client(base_url=server.url, verify=verify, timeout=30) as fresh:  # type: ignore[arg-type]
            fresh.get(url, headers=headers, params=params).raise_for_status()
    fresh_rate = args.connections / (time.perf_counter() - started)
    return {
        "kept-alive req/s": kept_alive,
        "median ms": statistics.median(latencies) * 1000,
        "new-connection req/s": fresh_rate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--top", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        files = ensure_certificates(Path(folder))
        with EmulatorServer(Emulator(EmulatorConfig(scale=0.5))) as plain_server:
            plain = _measure(plain_server, True, args)
        with EmulatorServer(Emulator(EmulatorConfig(scale=0.5)), tls=files) as tls_server:
            tls = _measure(tls_server, files.client_context(), args)
    print(f"{'figure':24} {'plain http':>12} {'https (--tls)':>14} {'tls/plain':>10}")
    for name in plain:
        print(f"{name:24} {plain[name]:12.1f} {tls[name]:14.1f} {tls[name] / plain[name]:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
