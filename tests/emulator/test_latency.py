"""Simulated BC server time (``--latency-ms``, ``--per-record-us``): spent per request while
the request holds one of its user's 5 processing slots (docs/bc/5-limits.md §5: BC processes 5
requests of a user at once and queues the rest), so the 6th request of a user waits."""

from __future__ import annotations

import contextlib
import threading

import httpx
import pytest

from bcbridge.emulator.cli import build_parser
from bcbridge.emulator.config import EmulatorConfig
from bcbridge.emulator.limits import Limits

from ._bc import client, company_id, make_emulator, root


def test_service_time_is_base_plus_per_record() -> None:
    limits = Limits(latency_ms=150, per_record_us=50)
    # 150 ms + 20,000 x 50 us = 0.15 s + 1.0 s, by the definition of the two settings
    assert limits.service_time(20_000) == pytest.approx(1.15)
    assert limits.service_time(0) == pytest.approx(0.15)
    assert Limits().service_time(20_000) == 0


def test_config_and_cli_set_the_latency() -> None:
    config = EmulatorConfig(latency_ms=200, per_record_us=30)
    assert (config.limits.latency_ms, config.limits.per_record_us) == (200, 30)
    args = build_parser().parse_args(["--latency-ms", "120", "--per-record-us", "25"])
    assert (args.latency_ms, args.per_record_us) == (120, 25)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--latency-ms", "-1"])
    with pytest.raises(ValueError, match="latency_ms"):
        EmulatorConfig(latency_ms=-5)


def test_server_time_counts_headers_and_expanded_children_inside_the_slot() -> None:
    emulator = make_emulator(latency_ms=10_000, per_record_us=100)
    spent: list[tuple[float, int]] = []
    guard = emulator.control._guard

    def work(seconds: float) -> None:
        active = next(iter(emulator.control.limiter.snapshot().values()))["active"]
        spent.append((seconds, active))

    guard.work = work
    with client(emulator) as http:
        url = f"{root(emulator)}/companies({company_id(emulator)})/items"
        body = http.get(url, params={"$top": "7", "$expand": "itemVariants"}).json()
    records = len(body["value"]) + sum(len(item["itemVariants"]) for item in body["value"])
    assert len(spent) == 1
    seconds, active = spent[0]
    # the emulator's own work counts toward the server time: it waits only for the rest
    assert 0 < seconds <= 10.0 + records * 100e-6
    assert active == 1  # spent while holding the processing slot


def test_five_requests_of_a_user_are_served_at_once_never_more() -> None:
    emulator = make_emulator(latency_ms=1)
    inside = threading.Barrier(6)  # 5 requests in their server time + this test
    release = threading.Event()

    def work(seconds: float) -> None:
        # the 6th and 7th requests arrive after the barrier was passed (and aborted)
        with contextlib.suppress(threading.BrokenBarrierError):
            inside.wait(timeout=10)
        release.wait(timeout=10)

    emulator.control._guard.work = work
    results: list[int] = []
    with client(emulator) as http:
        url = f"{root(emulator)}/companies"

        def call() -> None:
            try:
                results.append(http.get(url).status_code)
            except httpx.HTTPError:  # pragma: no cover - reported by the count below
                results.append(0)

        threads = [threading.Thread(target=call) for _ in range(7)]
        for thread in threads:
            thread.start()
        inside.wait(timeout=10)  # exactly 5 are inside their server time
        inside.abort()  # later requests pass straight through
        state = next(iter(emulator.control.limiter.snapshot().values()))
        assert state["active"] == 5
        release.set()
        for thread in threads:
            thread.join(timeout=10)
    state = next(iter(emulator.control.limiter.snapshot().values()))
    assert results == [200] * 7
    assert state["peak_active"] == 5
    assert state["rejected"] == 0
