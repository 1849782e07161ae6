"""Rate limiters: BC's sliding window and concurrency, in one process and across processes."""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
import uuid

import pytest

from bcbridge.exceptions import RetriableError
from bcbridge.http.ratelimit import LocalRateLimiter, RateLimitTimeout, RedisRateLimiter

REDIS_URL = os.environ.get("BCBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = 0
    j = 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    active = best = 0
    for _, delta in events:
        active += delta
        best = max(best, active)
    return best


def test_local_window_blocks_until_oldest_expires():
    limiter = LocalRateLimiter(rate=3, window=0.3, concurrency=5)
    started = time.monotonic()
    for _ in range(3):
        limiter.acquire().release()
    assert time.monotonic() - started < 0.1
    with limiter.acquire():
        pass
    assert time.monotonic() - started >= 0.29


def test_local_concurrency_and_timeout():
    limiter = LocalRateLimiter(rate=100, window=10, concurrency=1)
    slot = limiter.acquire()
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire(timeout=0.05)
    assert isinstance(info.value, RetriableError)
    slot.release()
    slot.release()  # a second release is a no-op
    with limiter.acquire(timeout=0.05):
        pass


def test_local_window_timeout_reports_retry_after():
    limiter = LocalRateLimiter(rate=1, window=5, concurrency=1)
    limiter.acquire().release()
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire(timeout=0.01)
    assert 4.0 < info.value.retry_after <= 5.0


def test_local_threads_share_concurrency():
    limiter = LocalRateLimiter(rate=1000, window=10, concurrency=2)
    intervals: list[tuple[float, float]] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            with limiter.acquire(timeout=5):
                start = time.monotonic()
                time.sleep(0.005)
                end = time.monotonic()
            with lock:
                intervals.append((start, end))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(intervals) == 20
    assert max_overlap(intervals) == 2


def test_local_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        LocalRateLimiter(rate=0)


def test_redis_lease_expires_after_a_crash():
    redis_or_skip()
    key = f"test-{uuid.uuid4().hex}"
    limiter = RedisRateLimiter(REDIS_URL, key, rate=100, window=10, concurrency=1, lease=0.2)
    try:
        limiter.acquire()  # never released, as if the process died
        with pytest.raises(RateLimitTimeout):
            limiter.acquire(timeout=0.05)
        with limiter.acquire(timeout=1.0):
            pass  # the lease ran out
        with limiter.acquire(timeout=0.5):
            pass  # a released slot is free at once
    finally:
        limiter.reset()


def test_redis_window_timeout_reports_wait():
    redis_or_skip()
    limiter = RedisRateLimiter(REDIS_URL, f"test-{uuid.uuid4().hex}", rate=2, window=3, concurrency=5)
    try:
        limiter.acquire().release()
        limiter.acquire().release()
        with pytest.raises(RateLimitTimeout) as info:
            limiter.acquire(timeout=0.05)
        assert 2.0 < info.value.retry_after <= 3.1
    finally:
        limiter.reset()


def _worker(key: str, count: int, ready, go, results) -> None:
    # Two threads per process, so that each process alone could exceed the concurrency.
    limiter = RedisRateLimiter(REDIS_URL, key, rate=10, window=1.0, concurrency=2, lease=5.0)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for _ in range(n):
            with limiter.acquire(timeout=30):
                start = time.time()
                time.sleep(random.uniform(0.01, 0.03))
                end = time.time()
            with lock:
                spans.append((start, end))

    threads = [threading.Thread(target=work, args=(n,)) for n in (count // 2, count - count // 2)]
    ready.put(True)
    go.wait(30)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(spans)


def test_redis_limiter_is_shared_across_processes():
    redis_or_skip()
    key = f"test-{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per_process = 15
    procs = [ctx.Process(target=_worker, args=(key, per_process, ready, go, results)) for _ in range(2)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        go.set()
        spans = [span for _ in procs for span in results.get(timeout=60)]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        RedisRateLimiter(REDIS_URL, key).reset()
    assert len(spans) == 2 * per_process
    starts = [a for a, _ in spans]
    # Local timestamps are taken just after Redis granted the slot; allow that small lag.
    assert max_in_window(starts, 1.0 - 0.05) <= 10
    assert max_overlap(spans) <= 2
    # 30 requests at 10 per second need at least two full windows: the limit really bit.
    assert max(starts) - min(starts) >= 1.9
