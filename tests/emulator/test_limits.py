"""BC's per-user operational limits (docs/bc/5-limits.md §5) with tiny numbers: rate window, queue,
concurrency and the queue/operation/execution timeouts."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.errors import json_response
from bcbridge.emulator.limits import Limits

PATH = "/v2.0/production/api/v2.0/companies"


class GatedBC:
    """A BC handler that authenticates like BC and can be held at a gate."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)
        self.hold_seconds = 0.0

    def handle(self, request: Request) -> Response:
        self.emulator.identity.authenticate(request)
        self.entered.release()
        self.gate.wait(5)
        if self.hold_seconds:
            time.sleep(self.hold_seconds)
        return json_response({"value": []})


def queued(emulator: Emulator) -> int:
    return sum(user["queued"] for user in emulator.control.limiter.snapshot().values())


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    """Wait for ``condition()`` (a state another thread reaches), checking every 10 ms."""
    deadline = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        deadline.wait(0.01)
    return bool(condition())


def make(**limits: Any) -> tuple[Emulator, GatedBC, httpx.Client, dict[str, str]]:
    emulator = Emulator(EmulatorConfig(base_url="http://bc.emulator.test", limits=Limits(**limits)))
    bc = GatedBC(emulator)
    emulator.bc = bc  # type: ignore[assignment]
    http = httpx.Client(transport=emulator.transport(), base_url=emulator.config.base_url)
    config = emulator.config
    token = http.post(
        f"/{config.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": BC_SCOPE,
        },
    ).json()["access_token"]
    return emulator, bc, http, {"Authorization": f"Bearer {token}"}


def in_thread(
    http: httpx.Client, headers: dict[str, str], results: list[httpx.Response]
) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append(http.get(PATH, headers=headers)))
    thread.start()
    return thread


def test_rate_window_gives_429_with_retry_after_until_the_window_moves() -> None:
    emulator, _, http, auth = make(requests_per_window=3, window_seconds=60)
    for _ in range(3):
        assert http.get(PATH, headers=auth).status_code == 200
        emulator.clock.advance(10)
    limited = http.get(PATH, headers=auth)
    assert limited.status_code == 429
    # the oldest of the 3 was 30 s ago; the 60 s window frees a slot in 30 s
    assert limited.headers["Retry-After"] == "30"
    error = limited.json()["error"]
    assert error["code"] == "Application_TooManyRequests"
    assert "CorrelationId:" in error["message"]
    emulator.clock.advance(31)
    assert http.get(PATH, headers=auth).status_code == 200


def test_requests_without_a_valid_token_are_not_counted_per_user() -> None:
    _, _, http, auth = make(requests_per_window=2)
    for _ in range(5):
        assert http.get(PATH).status_code == 401
        assert http.get(PATH, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert http.get(PATH, headers=auth).status_code == 200


def test_limits_are_per_user() -> None:
    emulator, _, http, auth = make(requests_per_window=1)
    assert http.get(PATH, headers=auth).status_code == 200
    assert http.get(PATH, headers=auth).status_code == 429
    user_token, _ = emulator.identity.issue_access_token(
        emulator.identity.user_subject(), delegated=True
    )
    assert http.get(PATH, headers={"Authorization": f"Bearer {user_token}"}).status_code == 200


def test_limits_change_at_run_time() -> None:
    _, _, http, auth = make(requests_per_window=1)
    http.get(PATH, headers=auth)
    assert http.get(PATH, headers=auth).status_code == 429
    http.put("/_emulator/limits", json={"requests_per_window": 5})
    assert http.get(PATH, headers=auth).status_code == 200


def test_concurrency_one_and_no_queue_rejects_a_concurrent_request() -> None:
    _, bc, http, auth = make(max_concurrent=1, max_queued=0)
    bc.gate.clear()
    results: list[httpx.Response] = []
    first = in_thread(http, auth, results)
    assert bc.entered.acquire(timeout=5)
    second = http.get(PATH, headers=auth)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    bc.gate.set()
    first.join(5)
    assert results[0].status_code == 200


def test_a_queued_request_runs_when_a_slot_frees() -> None:
    emulator, bc, http, auth = make(max_concurrent=1, max_queued=1, queue_timeout=5)
    bc.gate.clear()
    results: list[httpx.Response] = []
    first = in_thread(http, auth, results)
    assert bc.entered.acquire(timeout=5)
    second = in_thread(http, auth, results)
    assert wait_until(lambda: queued(emulator) == 1)  # the second waits in the queue
    assert not results
    third = http.get(PATH, headers=auth)
    assert third.status_code == 429  # the queue (1) is full
    bc.gate.set()
    first.join(5)
    second.join(5)
    assert [r.status_code for r in results] == [200, 200]


def test_queue_wait_timeout_gives_503() -> None:
    _, bc, http, auth = make(max_concurrent=1, max_queued=5, queue_timeout=0.2)
    bc.gate.clear()
    results: list[httpx.Response] = []
    first = in_thread(http, auth, results)
    assert bc.entered.acquire(timeout=5)
    waited = http.get(PATH, headers=auth)
    assert waited.status_code == 503  # the queue wait (0.2 s) ran out while the first holds the slot
    assert waited.headers["Retry-After"]
    bc.gate.set()
    first.join(5)


def test_operation_timeout_gives_408() -> None:
    _, bc, http, auth = make(operation_timeout=0.05)
    bc.hold_seconds = 0.1
    answer = http.get(PATH, headers=auth)
    assert answer.status_code == 408
    assert answer.json()["error"]["code"] == "Internal_OperationTimeout"


def test_execution_limit_counts_the_queue_and_gives_504() -> None:
    _, bc, http, auth = make(max_concurrent=1, queue_timeout=5, execution_limit=0.6)
    bc.hold_seconds = 0.35  # within the limit alone, beyond it after waiting for another
    results: list[httpx.Response] = []
    first = in_thread(http, auth, results)
    assert bc.entered.acquire(timeout=5)
    second = in_thread(http, auth, results)
    first.join(5)
    second.join(5)
    assert [r.status_code for r in results] == [200, 504]
    assert results[1].json()["error"]["code"] == "Internal_GatewayTimeout"


def test_limits_validation() -> None:
    limits = Limits()
    assert limits.updated({"max_concurrent": 2.0}).max_concurrent == 2
    assert isinstance(limits.updated({"max_concurrent": 2.0}).max_concurrent, int)
    with pytest.raises(ValueError, match="unknown limit"):
        limits.updated({"burst": 1})
    with pytest.raises(ValueError, match="non-negative"):
        limits.updated({"window_seconds": True})


def test_limits_log_and_count_throttled_requests() -> None:
    emulator, _, http, auth = make(requests_per_window=1)
    http.get(PATH, headers=auth)
    http.get(PATH, headers=auth)
    counters = emulator.control.counters()
    assert counters["by_status"] == {"200": 2, "429": 1}  # token request + 1 served + 1 throttled
    assert emulator.control.limiter.snapshot()[emulator.identity.app_subject().oid]["window"] == 1
