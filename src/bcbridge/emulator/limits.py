"""BC online's per-user operational limits for OData/API requests (docs/bc/5-limits.md §5).

Source:
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online
(per-user rate, concurrency,
queue and connection limits; queue wait and operation timeouts) and
``api-reference/v2.0/dynamics-rate-limits.md`` (request execution limit, 504).

:class:`Limits` holds the numbers (all changeable at run time through
``PUT /_emulator/limits``); :class:`Limiter` enforces the per-user ones. "User" is the
``oid`` claim of the access token, so a service principal is one user and an app spreading
load over several users gets more throughput, as in BC. The timeouts (queue wait 503,
operation 408, execution 504) are applied by :meth:`bcbridge.emulator.control.Control.guard`.

The error codes BC puts in these responses are not documented; the ones in
:data:`LIMIT_ERRORS` are **UNVERIFIED** choices in BC's code families (docs/bc/8-errors.md §8).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcbridge.emulator.errors import BCError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LIMIT_ERRORS", "Limiter", "Limits"]

#: HTTP status -> (BC error code, message template). **UNVERIFIED**: BC documents the
#: statuses (docs/bc/5-limits.md §5) but not the codes or texts of these errors.
LIMIT_ERRORS: dict[int, tuple[str, str]] = {
    429: (
        "Application_TooManyRequests",
        "Too many requests reached. Actual ({actual}). Maximum ({maximum}).",
    ),
    503: (
        "Internal_ServiceUnavailable",
        "The request waited in the queue for more than {maximum} seconds and was canceled.",
    ),
    408: (
        "Internal_OperationTimeout",
        "The operation took longer than {maximum} seconds and the session was canceled.",
    ),
    504: ("Internal_GatewayTimeout", "The request took longer than {maximum} seconds to execute."),
}


def limit_error(status: int, headers: dict[str, str] | None = None, **values: object) -> BCError:
    """The :class:`BCError` for a limit response (see :data:`LIMIT_ERRORS`)."""
    code, template = LIMIT_ERRORS[status]
    return BCError(status, code, template.format(**values), headers=headers)


@dataclass
class Limits:
    """Per-user limits; defaults are BC online's (docs/bc/0-quick-reference.md §0 and §5).

    Attributes:
        requests_per_window: Requests a user may make per sliding window (6,000) -> 429
            with ``Retry-After`` (seconds until the window frees a slot).
        window_seconds: Length of the sliding window in seconds (300), measured on the
            emulator clock, so advancing the clock frees the window.
        max_concurrent: Requests of one user processed at once (5); more wait in a queue.
        max_queued: Requests of one user that may wait (95); one more -> 429.
        max_connections: Processed plus queued requests of one user (100) -> 429.
        queue_timeout: Seconds a request may wait in the queue (480) -> 503.
        operation_timeout: Seconds a request may be processed (480) -> 408; BC cancels
            the session.
        execution_limit: Seconds from arrival to answer, queue included (600) -> 504.
        retry_after: ``Retry-After`` seconds sent with queue-full 429s and 503s.
        latency_ms: Server time of every limited request, milliseconds, spent while it holds
            one of the user's ``max_concurrent`` processing slots (so a sixth request of a
            user queues behind it, as in BC). 0 (the default) serves at once.
        per_record_us: Extra server time per record served (headers and expanded children),
            microseconds; added to ``latency_ms``. Realistic values: ``docs/emulator-latency.md``
            (**UNVERIFIED** estimates; Microsoft publishes no per-record cost).
    """

    requests_per_window: int = 6000
    window_seconds: float = 300.0
    max_concurrent: int = 5
    max_queued: int = 95
    max_connections: int = 100
    queue_timeout: float = 480.0
    operation_timeout: float = 480.0
    execution_limit: float = 600.0
    retry_after: int = 1
    latency_ms: float = 0.0
    per_record_us: float = 0.0

    def service_time(self, records: int) -> float:
        """Seconds of simulated server work for a response with ``records`` records."""
        return (self.latency_ms * 1000.0 + self.per_record_us * max(records, 0)) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any]) -> Limits:
        """A copy with ``changes`` applied.

        Raises:
            ValueError: A key is not a field, or a value is not a non-negative number.
        """
        known = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown limit {key!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"limit {key!r} must be a non-negative number, got {value!r}")
            clean[key] = int(value) if known[key].type in ("int", int) else float(value)
        return dataclasses.replace(self, **clean)


@dataclass
class _User:
    hits: deque[float] = field(default_factory=deque)
    active: int = 0
    waiting: int = 0
    peak_active: int = 0
    rejected: int = 0


class Limiter:
    """Enforces :class:`Limits` per user; thread-safe.

    Args:
        limits: The initial limits (replace :attr:`limits` to change them at run time).
        now: Emulator time in Unix seconds (the rate window follows the emulator clock;
            queue waits use real time because they are real waits of real threads).
    """

    def __init__(self, limits: Limits, now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._cond = threading.Condition()
        self._users: dict[str, _User] = {}

    def reset(self, limits: Limits) -> None:
        """Forget every user's history and use ``limits``."""
        with self._cond:
            self.limits = limits
            self._users.clear()
            self._cond.notify_all()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Per user: requests in the current window, processing and queued counts, the most
        processed at once since the last reset (``peak_active``, never above
        ``max_concurrent``) and how many requests were refused with 429 (``rejected``)."""
        with self._cond:
            now = self._now()
            return {
                user: {
                    "window": sum(1 for t in state.hits if t > now - self.limits.window_seconds),
                    "active": state.active,
                    "queued": state.waiting,
                    "peak_active": state.peak_active,
                    "rejected": state.rejected,
                }
                for user, state in self._users.items()
            }

    def acquire(self, user: str) -> float:
        """Count one request of ``user`` and wait for a processing slot.

        Returns:
            Seconds spent waiting in the queue.

        Raises:
            BCError: 429 when the rate window, the queue or the connection limit is full
                (the rate 429 carries ``Retry-After`` until a slot frees); 503 when the
                request waited longer than ``queue_timeout``.
        """
        with self._cond:
            limits = self.limits
            state = self._users.setdefault(user, _User())
            now = self._now()
            while state.hits and state.hits[0] <= now - limits.window_seconds:
                state.hits.popleft()
            if len(state.hits) >= limits.requests_per_window:
                state.rejected += 1
                oldest = (
                    state.hits[-limits.requests_per_window] if limits.requests_per_window else now
                )
                wait = max(1, math.ceil(oldest + limits.window_seconds - now))
                raise limit_error(
                    429,
                    {"Retry-After": str(wait)},
                    actual=len(state.hits) + 1,
                    maximum=limits.requests_per_window,
                )
            if state.active >= limits.max_concurrent and state.waiting >= limits.max_queued:
                state.rejected += 1
                raise limit_error(
                    429,
                    {"Retry-After": str(limits.retry_after)},
                    actual=state.waiting + 1,
                    maximum=limits.max_queued,
                )
            if state.active + state.waiting >= limits.max_connections:
                state.rejected += 1
                raise limit_error(
                    429,
                    {"Retry-After": str(limits.retry_after)},
                    actual=state.active + state.waiting + 1,
                    maximum=limits.max_connections,
                )
            state.hits.append(now)
            if state.active < limits.max_concurrent:
                state.active += 1
                state.peak_active = max(state.peak_active, state.active)
                return 0.0
            started = time.monotonic()
            state.waiting += 1
            try:
                while state.active >= self.limits.max_concurrent:
                    left = self.limits.queue_timeout - (time.monotonic() - started)
                    if left <= 0:
                        raise limit_error(
                            503,
                            {"Retry-After": str(self.limits.retry_after)},
                            maximum=self.limits.queue_timeout,
                        )
                    self._cond.wait(left)
            finally:
                state.waiting -= 1
            state.active += 1
            state.peak_active = max(state.peak_active, state.active)
            return time.monotonic() - started

    def release(self, user: str) -> None:
        """Free the processing slot taken by :meth:`acquire`."""
        with self._cond:
            state = self._users.get(user)
            if state is not None and state.active > 0:
                state.active -= 1
            self._cond.notify_all()
