"""The rate limiter of a connection: Redis when configured, else the database."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction

from bcbridge.conf import get_settings
from bcbridge.exceptions import ConfigurationError
from bcbridge.http import LocalRateLimiter, PollingRateLimiter, RateLimiter, RedisRateLimiter
from bcbridge.models import Connection, RateLimitBucket, RateLimitHit, RateLimitLease

__all__ = ["DatabaseRateLimiter", "limiter_for"]

_local: dict[str, LocalRateLimiter] = {}


class DatabaseRateLimiter(PollingRateLimiter):
    """BC's per-user limits kept in the database, shared by every process using it.

    Each attempt locks the bucket row (``select_for_update``; SQLite's IMMEDIATE
    transactions in the ready site), drops hits older than the window and expired leases,
    then takes a hit and a lease if both are free. Call it outside long transactions:
    inside one, the bucket lock would be held until that transaction ends.
    """

    def __init__(self, key: str, **kwargs: float | int) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self._bucket_id: int | None = None

    def _bucket(self) -> int:
        """The bucket row's id, looked up (or created) once per limiter, not per request."""
        if self._bucket_id is None:
            try:
                bucket, _ = RateLimitBucket.objects.get_or_create(key=self.key)
            except IntegrityError:  # created by another process meanwhile
                bucket = RateLimitBucket.objects.get(key=self.key)
            self._bucket_id = bucket.pk
        return self._bucket_id

    def try_acquire(self, token: str) -> float:
        bucket_id = self._bucket()
        with transaction.atomic():
            RateLimitBucket.objects.select_for_update().get(pk=bucket_id)
            now = time.time()
            RateLimitHit.objects.filter(bucket_id=bucket_id, at__lte=now - self.window).delete()
            RateLimitLease.objects.filter(bucket_id=bucket_id, expires_at__lte=now).delete()
            hits = RateLimitHit.objects.filter(bucket_id=bucket_id)
            if hits.count() >= self.rate:
                oldest = hits.order_by("at").values_list("at", flat=True).first() or now
                return max(0.001, oldest + self.window - now)
            if RateLimitLease.objects.filter(bucket_id=bucket_id).count() >= self.concurrency:
                return -1.0
            RateLimitHit.objects.create(bucket_id=bucket_id, at=now)
            RateLimitLease.objects.create(bucket_id=bucket_id, token=token, expires_at=now + self.lease)
        return 0.0

    def release(self, token: str) -> None:
        RateLimitLease.objects.filter(token=token).delete()


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
