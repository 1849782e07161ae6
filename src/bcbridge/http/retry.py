"""When to repeat a BC request, and how long to wait first.

One pure decision function (:func:`should_retry`) plus :class:`RetryPolicy`, which adds the
attempt budget and the delay with an injectable ``sleep`` and random source (STYLE.md rule 3,
modelled on stripe's ``_should_retry`` and MSAL's ``RetryAfterParser``).

Why writes are special: a POST that reached BC may have created a record even when the
answer was lost, so repeating it blindly can create a duplicate. It is repeated only when the
failure proves BC did not process it:

* **429**: BC rejects over-limit requests before processing them (rate, queue and connection
  limits, docs/bc/5-limits.md §5).
* **503**: BC's answer when a request waited in the per-user queue for 8 minutes without
  being processed, or when the tenant is unavailable (docs/bc/5-limits.md §5, §8).
* a connection that was never established (``httpx.ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``): nothing was sent.

408 (operation timeout, session cancelled), 500, 502 and 504 and read/write errors may come
after BC did (part of) the work, so only idempotent requests repeat them. Everything else
goes back to the caller (a POST goes back to the outbox, which checks BC for the earlier
attempt before trying again).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "is_idempotent",
    "parse_retry_after",
    "should_retry",
]

#: Methods that never change data, so they can always be repeated.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Statuses every idempotent request may repeat (docs/bc/5-limits.md §5, §8).
_RETRY_IDEMPOTENT = frozenset({408, 429, 500, 502, 503, 504})

#: Statuses that prove BC did not process the request, so even a POST may repeat them.
_RETRY_ANY = frozenset({429, 503})

#: Transport errors raised before any byte of the request left this process.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_idempotent(method: str, etag: str | None = None) -> bool:
    """Whether a request may be repeated without changing its effect.

    GET, HEAD and OPTIONS always are. PATCH, PUT and DELETE are when they carry a concrete
    ``If-Match`` ETag: if the first attempt was applied, the repeat fails with 409
    ``Request_EntityChanged`` (or 404 for DELETE) instead of applying twice (docs/bc/4-concurrency.md §4).
    ``If-Match: *`` does not protect against that, and POST never is.

    Args:
        method: HTTP method, any case.
        etag: The ``If-Match`` value sent, or ``None``.
    """
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    return method in {"PATCH", "PUT", "DELETE"} and etag is not None and etag.strip() != "*"


def should_retry(
    method: str,
    status: int | None,
    error: BaseException | None,
    attempt: int,
    idempotent: bool | None,
    *,
    max_attempts: int = 5,
) -> bool:
    """Decide whether to repeat a request that just failed.

    Args:
        method: HTTP method of the request.
        status: HTTP status of the answer, ``None`` when there was none.
        error: The transport exception when there was no answer (an ``httpx.TransportError``
            or a :class:`bcbridge.exceptions.TransportError` chained from one).
        attempt: Number of the attempt that failed, starting at 1.
        idempotent: Whether the caller declares the request safe to repeat; ``None`` means
            "only if the method is GET, HEAD or OPTIONS".
        max_attempts: Attempt budget; no retry once ``attempt >= max_attempts``.

    Returns:
        True to try again after :meth:`RetryPolicy.delay`, False to raise.
    """
    if attempt >= max_attempts:
        return False
    safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS
    if status is None:
        if error is None:
            return False
        cause = error if isinstance(error, httpx.TransportError) else error.__cause__
        if isinstance(cause, _NOT_SENT):
            return True
        return safe and isinstance(cause, httpx.TransportError)
    if status in _RETRY_ANY:
        return True
    return safe and status in _RETRY_IDEMPOTENT


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header.

    BC sends it on 502 and 503 (and the emulator on 429 too, docs/bc/5-limits.md §5). RFC 9110 allows
    delay-seconds (``"120"``) or an HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``).

    Args:
        value: The header value, or ``None``.
        now: Current time for HTTP dates (UTC aware); defaults to the system clock.

    Returns:
        Seconds (>= 0.0), or ``None`` when absent or unparseable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt budget and waiting rules of :class:`~bcbridge.http.BCClient`.

    Attributes:
        max_attempts: Total attempts including the first (5).
        base: First back-off ceiling in seconds (0.5); doubles each attempt.
        cap: Largest back-off ceiling in seconds (30.0).
        retry_after_cap: Largest wait taken from a ``Retry-After`` header, seconds (120.0).
        sleep: Called with the delay in seconds; inject a fake in tests.
        rng: Returns a float in [0, 1) for the jitter.
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0
    sleep: Callable[[float], object] = field(default=time.sleep, compare=False)
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def should_retry(
        self,
        method: str,
        status: int | None,
        error: BaseException | None,
        attempt: int,
        idempotent: bool | None,
    ) -> bool:
        """:func:`should_retry` with this policy's ``max_attempts``."""
        return should_retry(method, status, error, attempt, idempotent, max_attempts=self.max_attempts)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``.

        ``Retry-After`` wins when present (capped at ``retry_after_cap``); otherwise
        exponential back-off with full jitter: uniform in ``[0, min(cap, base * 2**(attempt-1)))``
        (AWS "Exponential Backoff and Jitter"; BC asks for back-off with randomization,
        docs/bc/5-limits.md §5).

        Args:
            attempt: The attempt that failed, starting at 1.
            retry_after: Seconds from :func:`parse_retry_after`, or ``None``.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling: float = min(self.cap, self.base * 2.0 ** max(attempt - 1, 0))
        return self.rng() * ceiling

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Sleep for :meth:`delay` and return the seconds slept."""
        seconds = self.delay(attempt, retry_after)
        if seconds > 0:
            self.sleep(seconds)
        return seconds
