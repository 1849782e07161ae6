"""Client-side limiter that keeps bcbridge under BC's per-user OData limits.

BC online allows each user (and each service principal) 6,000 requests per 5-minute sliding
window and processes 5 at once; beyond that it queues, then answers 429 or 503
(docs/bc/5-limits.md §5,
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online).
Workers that share a
connection share those limits, so the limiter is shared too:

* :class:`LocalRateLimiter`: threads of one process.
* :class:`RedisRateLimiter`: every process on every host that
  uses the same Redis key (a sliding-window log and a concurrency lease set, each updated
  by one Lua script, so the check and the update are atomic).
* A database-backed limiter implements :class:`PollingRateLimiter` (``try_acquire`` and
  ``release``) and inherits the blocking loop.

``acquire()`` blocks until both a window slot and a concurrency slot are free and returns a
:class:`Slot`; leaving its ``with`` block releases the concurrency slot (the window slot is
spent). After ``timeout`` seconds it raises :class:`~bcbridge.exceptions.RetriableError`.
"""

from __future__ import annotations

import abc
import collections
import random
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from bcbridge.exceptions import RetriableError

__all__ = [
    "BC_CONCURRENCY",
    "BC_RATE",
    "BC_WINDOW",
    "LocalRateLimiter",
    "PollingRateLimiter",
    "RateLimitTimeout",
    "RateLimiter",
    "RedisRateLimiter",
    "Slot",
]

#: BC online per-user limits (docs/bc/0-quick-reference.md §0, §5).
BC_RATE = 6000
BC_WINDOW = 300.0
BC_CONCURRENCY = 5


class RateLimitTimeout(RetriableError):
    """No slot became free within the limiter's timeout; try the work again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Slot:
    """A held concurrency slot; a context manager that releases it once.

    Attributes:
        token: Unique id of this acquisition (the member stored by shared limiters).
    """

    __slots__ = ("_release", "token")

    def __init__(self, token: str, release: Callable[[str], None]) -> None:
        self.token = token
        self._release: Callable[[str], None] | None = release

    def release(self) -> None:
        """Give the concurrency slot back; later calls do nothing."""
        release, self._release = self._release, None
        if release is not None:
            release(self.token)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class RateLimiter(abc.ABC):
    """What :class:`~bcbridge.http.BCClient` needs from a limiter.

    Attributes:
        rate: Requests allowed per ``window``.
        window: Sliding window length in seconds.
        concurrency: Requests allowed in flight at once.
        timeout: Default seconds :meth:`acquire` waits before raising.
    """

    rate: int
    window: float
    concurrency: int
    timeout: float

    @abc.abstractmethod
    def acquire(self, timeout: float | None = None) -> Slot:
        """Block until a request may be sent; return the held slot.

        Args:
            timeout: Seconds to wait at most; ``None`` uses ``self.timeout``.

        Raises:
            RateLimitTimeout: No slot within ``timeout`` (a :class:`RetriableError`).
        """


class LocalRateLimiter(RateLimiter):
    """Sliding-window log and concurrency count shared by the threads of one process.

    Args:
        rate: Requests per window (BC: 6,000).
        window: Window in seconds (BC: 300).
        concurrency: Requests in flight (BC: 5).
        timeout: Default wait in seconds for :meth:`acquire`.
        clock: Monotonic seconds; inject a fake in tests.
    """

    def __init__(
        self,
        rate: int = BC_RATE,
        window: float = BC_WINDOW,
        concurrency: int = BC_CONCURRENCY,
        *,
        timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1 or concurrency < 1 or window <= 0:
            raise ValueError("rate, window and concurrency must be positive")
        self.rate = rate
        self.window = window
        self.concurrency = concurrency
        self.timeout = timeout
        self._clock = clock
        self._log: collections.deque[float] = collections.deque()
        self._active = 0
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None) -> Slot:
        limit = self.timeout if timeout is None else timeout
        deadline = self._clock() + limit
        with self._cond:
            while True:
                now = self._clock()
                while self._log and self._log[0] <= now - self.window:
                    self._log.popleft()
                full = len(self._log) >= self.rate
                if not full and self._active < self.concurrency:
                    self._log.append(now)
                    self._active += 1
                    return Slot(uuid.uuid4().hex, self._release)
                remaining = deadline - now
                # A window slot frees at a known time; a concurrency slot on notify().
                free_at = self._log[0] + self.window - now if full else None
                if remaining <= 0:
                    raise RateLimitTimeout(
                        f"rate limiter: no request slot within {limit:g} s "
                        f"({self.rate} per {self.window:g} s, {self.concurrency} concurrent)",
                        retry_after=free_at,
                    )
                self._cond.wait(min(remaining, free_at) if free_at is not None else remaining)

    def _release(self, token: str) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify()


class PollingRateLimiter(RateLimiter):
    """Base of shared limiters: subclasses make one atomic attempt, this class waits.

    Implement :meth:`try_acquire` and :meth:`release`; both must be atomic in the shared
    store (a Lua script, or a row lock in a database) and must keep concurrency leases that
    expire after ``lease`` seconds, so that a crashed process does not keep its slot.
    """

    #: Longest single sleep between attempts when only concurrency is short, seconds.
    poll_interval: float = 0.02

    def __init__(
        self,
        rate: int = BC_RATE,
        window: float = BC_WINDOW,
        concurrency: int = BC_CONCURRENCY,
        *,
        lease: float = 60.0,
        timeout: float = 60.0,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1 or concurrency < 1 or window <= 0 or lease <= 0:
            raise ValueError("rate, window, concurrency and lease must be positive")
        self.rate = rate
        self.window = window
        self.concurrency = concurrency
        self.lease = lease
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock

    @abc.abstractmethod
    def try_acquire(self, token: str) -> float:
        """Take a window slot and a concurrency lease for ``token`` if both are free.

        Returns:
            0.0 when acquired; otherwise seconds until a window slot frees, or a negative
            number when only concurrency is short (the caller polls).
        """

    @abc.abstractmethod
    def release(self, token: str) -> None:
        """Drop the concurrency lease of ``token`` (no error if it already expired)."""

    def acquire(self, timeout: float | None = None) -> Slot:
        limit = self.timeout if timeout is None else timeout
        deadline = self._clock() + limit
        token = uuid.uuid4().hex
        while True:
            wait = self.try_acquire(token)
            if wait == 0.0:
                return Slot(token, self.release)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RateLimitTimeout(
                    f"rate limiter: no request slot within {limit:g} s "
                    f"({self.rate} per {self.window:g} s, {self.concurrency} concurrent)",
                    retry_after=wait if wait > 0 else None,
                )
            if wait < 0:
                # Jitter so that waiting processes do not all poll in step.
                wait = self.poll_interval * (0.5 + random.random())
            self._sleep(min(wait, remaining))


# KEYS[1]: sliding-window log (member = token, score = ms); KEYS[2]: concurrency leases
# (member = token, score = lease expiry in ms). ARGV: window ms, rate, concurrency, token,
# lease ms. Time comes from the Redis server so that hosts with skewed clocks agree.
# Returns 0 when acquired, ms until a window slot frees, or -1 when only concurrency is short.
_ACQUIRE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now + 1)
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) + 1000)
return 0
"""


class RedisRateLimiter(PollingRateLimiter):
    """A limiter shared by every process that uses the same Redis ``key``.

    The window is a sorted-set log of acquisitions (exact sliding window, as BC counts,
    docs/bc/5-limits.md §5); concurrency is a sorted set of leases that expire after ``lease`` seconds,
    so a process that dies while holding a slot frees it by itself. Keep ``lease`` longer
    than the client's request timeout.

    Args:
        redis_url: ``redis://host:port/db``; or pass ``client``.
        key: Name shared by everyone using the same BC user, e.g. the connection's id.
            Stored under ``bcbridge:ratelimit:{key}:window`` and ``...:active`` (the braces
            keep both keys in one Redis Cluster slot).
        rate, window, concurrency, lease, timeout: See :class:`PollingRateLimiter`.
        client: An existing ``redis.Redis`` client.

    Raises:
        ConfigurationError: The ``redis`` package is not installed.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        key: str = "default",
        rate: int = BC_RATE,
        window: float = BC_WINDOW,
        concurrency: int = BC_CONCURRENCY,
        *,
        lease: float = 60.0,
        timeout: float = 60.0,
        client: Any = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(rate, window, concurrency, lease=lease, timeout=timeout, sleep=sleep)
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - depends on the installation
                from bcbridge.exceptions import ConfigurationError

                raise ConfigurationError("RedisRateLimiter needs the 'redis' package (pip install redis)") from exc
            client = redis.Redis.from_url(redis_url or "redis://127.0.0.1:6379/0")
        self.client = client
        self.key = key
        self.keys = (f"bcbridge:ratelimit:{{{key}}}:window", f"bcbridge:ratelimit:{{{key}}}:active")
        self._script = client.register_script(_ACQUIRE)
        self._window_ms = max(1, round(window * 1000))
        self._lease_ms = max(1, round(lease * 1000))

    def try_acquire(self, token: str) -> float:
        result = int(
            self._script(
                keys=self.keys,
                args=[self._window_ms, self.rate, self.concurrency, token, self._lease_ms],
            )
        )
        return result / 1000.0 if result > 0 else float(result)

    def release(self, token: str) -> None:
        self.client.zrem(self.keys[1], token)

    def reset(self) -> None:
        """Forget every acquisition and lease under this key (tests, maintenance)."""
        self.client.delete(*self.keys)
