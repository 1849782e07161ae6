"""The database limiter spends no round trip per request while BC's budget is far from used
(prepaid window hits, a released slot reused by the process's next request) and never
counts fewer requests than it lets through (docs/bc/5-limits.md §5: 6,000 per 5 minutes, 5 at once)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcbridge.entities._limiter import DatabaseRateLimiter
from bcbridge.models import RateLimitHit, RateLimitLease

pytestmark = pytest.mark.django_db


def test_a_busy_worker_needs_no_round_trip_per_request():
    limiter = DatabaseRateLimiter("bcbridge:credits", rate=6000, window=300, concurrency=5, timeout=5)
    streams = [limiter.acquire() for _ in range(3)]  # three requests in flight
    sent = 3
    free_of_charge = 0
    for _ in range(40):  # each stream's next request, as a sync's streams do
        done = streams.pop(0)
        done.release()
        with CaptureQueriesContext(connection) as queries:
            streams.append(limiter.acquire())
        sent += 1
        free_of_charge += not queries.captured_queries
    assert free_of_charge >= 40 - 40 // limiter.credit_batch - 1
    # every request let through is counted in the window (prepaid hits included)
    assert RateLimitHit.objects.count() >= sent
    assert RateLimitLease.objects.count() <= 5
    for slot in streams:
        slot.release()
    assert RateLimitLease.objects.count() == 0  # an idle process holds no slot


def test_near_the_limit_every_request_asks_the_database():
    limiter = DatabaseRateLimiter("bcbridge:tight", rate=20, window=300, concurrency=5, timeout=5)
    held = limiter.acquire()
    for _ in range(5):
        other = limiter.acquire()
        other.release()
        with CaptureQueriesContext(connection) as queries:
            again = limiter.acquire()
        assert queries.captured_queries  # no prepaid hits when the window is more than half used
        again.release()
    held.release()
    assert RateLimitHit.objects.count() == 11  # exactly one hit per request


def test_reused_slots_never_exceed_the_concurrency_budget():
    limiter = DatabaseRateLimiter("bcbridge:budget", rate=6000, window=300, concurrency=2, timeout=0.2)
    first, second = limiter.acquire(), limiter.acquire()
    from bcbridge.http import RateLimitTimeout

    with pytest.raises(RateLimitTimeout):
        limiter.acquire()
    first.release()  # kept by the process for its next request, still counted
    third = limiter.acquire()
    assert RateLimitLease.objects.count() == 2
    with pytest.raises(RateLimitTimeout):
        limiter.acquire()
    second.release()
    third.release()
    assert RateLimitLease.objects.count() == 0
