"""The retry decision table, Retry-After parsing and back-off delays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bcbridge.exceptions import TransportError
from bcbridge.http.retry import RetryPolicy, is_idempotent, parse_retry_after, should_retry

READ_TIMEOUT = httpx.ReadTimeout("read timed out")
CONNECT_ERROR = httpx.ConnectError("connection refused")


@pytest.mark.parametrize(
    ("method", "status", "idempotent", "expected"),
    [
        ("GET", 429, None, True),
        ("GET", 408, None, True),
        ("GET", 500, None, True),
        ("GET", 502, None, True),
        ("GET", 503, None, True),
        ("GET", 504, None, True),
        ("GET", 400, None, False),
        ("GET", 401, None, False),
        ("GET", 404, None, False),
        ("GET", 409, None, False),
        ("GET", 501, None, False),
        # A POST may have been processed: only 429 and 503 prove it was not.
        ("POST", 429, None, True),
        ("POST", 503, None, True),
        ("POST", 500, None, False),
        ("POST", 502, None, False),
        ("POST", 504, None, False),
        ("POST", 408, None, False),
        # PATCH/DELETE are writes unless the caller says the repeat is safe.
        ("PATCH", 502, None, False),
        ("PATCH", 502, True, True),
        ("DELETE", 500, True, True),
        ("DELETE", 500, False, False),
        ("GET", 503, False, True),
    ],
)
def test_should_retry_statuses(method, status, idempotent, expected):
    assert should_retry(method, status, None, 1, idempotent) is expected


def test_should_retry_respects_attempt_budget():
    assert should_retry("GET", 503, None, 4, None, max_attempts=5) is True
    assert should_retry("GET", 503, None, 5, None, max_attempts=5) is False
    assert should_retry("GET", 503, None, 1, None, max_attempts=1) is False


def test_transport_errors():
    # A read timeout on a GET is safe to repeat; on a POST the request may have arrived.
    assert should_retry("GET", None, READ_TIMEOUT, 1, None) is True
    assert should_retry("POST", None, READ_TIMEOUT, 1, None) is False
    # A refused connection proves nothing was sent, so even a POST may repeat it.
    assert should_retry("POST", None, CONNECT_ERROR, 1, None) is True
    assert should_retry("POST", None, httpx.PoolTimeout("pool"), 1, None) is True
    # Our own TransportError is judged by its cause.
    wrapped = TransportError("boom")
    wrapped.__cause__ = READ_TIMEOUT
    assert should_retry("GET", None, wrapped, 1, None) is True
    assert should_retry("GET", None, ValueError("not transport"), 1, None) is False
    assert should_retry("GET", None, None, 1, None) is False


def test_is_idempotent():
    assert is_idempotent("get")
    assert is_idempotent("PATCH", 'W/"abc"')
    assert is_idempotent("DELETE", 'W/"abc"')
    assert not is_idempotent("PATCH", "*")
    assert not is_idempotent("PATCH")
    assert not is_idempotent("POST", 'W/"abc"')


def test_parse_retry_after_seconds_and_dates():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None


def test_delay_honours_capped_retry_after():
    policy = RetryPolicy(retry_after_cap=120.0, rng=lambda: 0.0)
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 3600.0) == 120.0


def test_delay_is_full_jitter_exponential_backoff():
    top = RetryPolicy(base=0.5, cap=30.0, rng=lambda: 0.999999)
    ceilings = [round(top.delay(n), 3) for n in range(1, 9)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert RetryPolicy(rng=lambda: 0.0).delay(5) == 0.0
    half = RetryPolicy(base=1.0, rng=lambda: 0.5)
    assert half.delay(3) == 2.0


def test_wait_uses_injected_sleep():
    slept: list[float] = []
    policy = RetryPolicy(sleep=slept.append, rng=lambda: 0.5)
    assert policy.wait(2) == 0.5
    assert policy.wait(1, retry_after=4.0) == 4.0
    assert slept == [0.5, 4.0]
    assert policy.should_retry("GET", 503, None, 4, None)
    assert not RetryPolicy(max_attempts=2).should_retry("GET", 503, None, 2, None)
