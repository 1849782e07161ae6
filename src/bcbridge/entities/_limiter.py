"""The rate limiter of a connection: Redis when configured, else the database."""

from __future__ import annotations

import threading
import time
import uuid

from django.db import IntegrityError, transaction

from bcbridge.conf import get_settings
from bcbridge.exceptions import ConfigurationError
from bcbridge.http import LocalRateLimiter, PollingRateLimiter, RateLimiter, RedisRateLimiter
from bcbridge.models import Connection, RateLimitBucket, RateLimitHit, RateLimitLease

__all__ = ["DatabaseRateLimiter", "limiter_for"]

_local: dict[str, LocalRateLimiter] = {}


class DatabaseRateLimiter(PollingRateLimiter):
    """BC's per-user limits kept in the database, shared by every process using it.

    A database attempt locks the bucket row (``select_for_update``; SQLite's IMMEDIATE
    transactions in the ready site), drops hits older than the window and expired leases,
    then takes a hit and a lease if both are free. Call it outside long transactions:
    inside one, the bucket lock would be held until that transaction ends.

    **No round trip per request while the budget is far from exhausted**: an attempt that
    finds the window at most half full also takes ``credit_batch`` more hits, dated
    ``credit_ttl`` seconds ahead (so every process counts them at least as long as BC counts
    the requests that spend them: the window is never undercounted), and spends them
    locally; a released lease stays with this process (still counted by everyone) and serves
    its next request while another of its requests is in flight, so a busy worker (the
    streams of a sync) needs the database once per ``credit_batch`` requests. A lease is
    given back to the database when the process goes idle (its last request ends), when it
    was not reused within ``idle_hold`` seconds, or before half its lease has run out.
    """

    #: Extra window hits taken per database attempt when the window is at most half full.
    credit_batch = 16
    #: Seconds prepaid hits stay usable (their rows are dated this far ahead).
    credit_ttl = 2.0
    #: Seconds a released lease waits for this process's next request.
    idle_hold = 0.5

    def __init__(self, key: str, **kwargs: float | int) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self._bucket_id: int | None = None
        self._local = threading.Lock()
        self._credits: list[float] = []  # wall-clock expiry of each prepaid hit
        self._idle: list[tuple[str, float, float]] = []  # (lease token, idle since, DB expiry)
        self._leases: dict[str, tuple[str, float]] = {}  # acquire token -> (lease token, DB expiry)
        self._stale: list[str] = []  # lease tokens to give back on the next database attempt

    def _bucket(self) -> int:
        """The bucket row's id, looked up (or created) once per limiter, not per request."""
        if self._bucket_id is None:
            try:
                bucket, _ = RateLimitBucket.objects.get_or_create(key=self.key)
            except IntegrityError:  # created by another process meanwhile
                bucket = RateLimitBucket.objects.get(key=self.key)
            self._bucket_id = bucket.pk
        return self._bucket_id

    def _take_idle(self, now: float) -> tuple[str, float, float] | None:
        """An idle lease of this process still good for a request (call under ``_local``);
        the ones past ``idle_hold`` or half their lease are queued to be given back."""
        while self._idle:
            lease, since, expires = self._idle.pop()
            if now - since <= self.idle_hold and expires - now > self.lease / 2:
                return lease, since, expires
            self._stale.append(lease)
        return None

    def try_acquire(self, token: str) -> float:
        now = time.time()
        with self._local:
            self._credits = [c for c in self._credits if c > now]
            reuse = self._take_idle(now)
            if reuse is not None and self._credits:
                self._credits.pop()  # no round trip: a prepaid hit and our own slot
                self._leases[token] = (reuse[0], reuse[2])
                return 0.0
            stale, self._stale = self._stale, []
        bucket_id = self._bucket()
        with transaction.atomic():
            RateLimitBucket.objects.select_for_update().get(pk=bucket_id)
            now = time.time()
            if stale:
                RateLimitLease.objects.filter(token__in=stale).delete()
            RateLimitHit.objects.filter(bucket_id=bucket_id, at__lte=now - self.window).delete()
            RateLimitLease.objects.filter(bucket_id=bucket_id, expires_at__lte=now).delete()
            hits = RateLimitHit.objects.filter(bucket_id=bucket_id)
            used = hits.count()
            wait = 0.0
            if used >= self.rate:
                oldest = hits.order_by("at").values_list("at", flat=True).first() or now
                wait = max(0.001, oldest + self.window - now)
            elif reuse is None and RateLimitLease.objects.filter(bucket_id=bucket_id).count() >= self.concurrency:
                wait = -1.0
            if wait:
                if reuse is not None:
                    with self._local:
                        self._idle.append(reuse)
                return wait
            extra = self.credit_batch if used + 1 + self.credit_batch <= self.rate // 2 else 0
            RateLimitHit.objects.bulk_create(
                [RateLimitHit(bucket_id=bucket_id, at=now)]
                + [RateLimitHit(bucket_id=bucket_id, at=now + self.credit_ttl) for _ in range(extra)]
            )
            if reuse is None:
                lease, expires = uuid.uuid4().hex, now + self.lease
                RateLimitLease.objects.create(bucket_id=bucket_id, token=lease, expires_at=expires)
            else:
                lease, expires = reuse[0], reuse[2]
        with self._local:
            self._credits.extend([now + self.credit_ttl] * extra)
            self._leases[token] = (lease, expires)
        return 0.0

    def release(self, token: str) -> None:
        with self._local:
            found = self._leases.pop(token, None)
            if found is None:
                return
            lease, expires = found
            if self._leases:  # another request of this process is in flight: keep the slot
                self._idle.append((lease, time.time(), expires))
                return
            # going idle: give back this slot and every idle one
            tokens = [lease, *(t for t, _, _ in self._idle), *self._stale]
            self._idle, self._stale = [], []
        RateLimitLease.objects.filter(token__in=tokens).delete()


def limiter_key(connection: Connection) -> str:
    """BC counts per user: one key per (tenant, app, signed-in user)."""
    user = connection.authorized_by if connection.grant_type == "authorization_code" else "app"
    return f"{connection.tenant.lower()}:{connection.client_id.lower()}:{user}"


def limiter_for(connection: Connection) -> RateLimiter | None:
    """The limiter the ``RATE_LIMITER`` setting asks for, sized by ``RATE_LIMIT_*``.

    Raises:
        ConfigurationError: ``RATE_LIMITER`` is unknown, or ``redis`` without ``REDIS_URL``.
    """
    settings = get_settings()
    kind = settings.RATE_LIMITER
    if kind == "auto":
        kind = "redis" if settings.REDIS_URL else "database"
    sizes = {
        "rate": settings.RATE_LIMIT_REQUESTS,
        "window": settings.RATE_LIMIT_WINDOW,
        "concurrency": settings.RATE_LIMIT_CONCURRENCY,
        "timeout": settings.RATE_LIMIT_TIMEOUT,
    }
    key = limiter_key(connection)
    if kind == "off":
        return None
    if kind == "local":
        return _local.setdefault(key, LocalRateLimiter(**sizes))  # type: ignore[arg-type]
    if kind == "database":
        return DatabaseRateLimiter(key, **sizes)
    if kind == "redis":
        if not settings.REDIS_URL:
            raise ConfigurationError("settings.BCBRIDGE['RATE_LIMITER'] is 'redis' but 'REDIS_URL' is empty.")
        return RedisRateLimiter(settings.REDIS_URL, key, **sizes)  # type: ignore[arg-type]
    raise ConfigurationError(f"settings.BCBRIDGE['RATE_LIMITER'] = {kind!r}: use auto, redis, database, local or off.")
