"""Shared state of the database-backed rate limiter (used when no Redis is configured)."""

from __future__ import annotations

from django.db import models

__all__ = ["RateLimitBucket", "RateLimitHit", "RateLimitLease"]


class RateLimitBucket(models.Model):
    """One limiter key (one connection = one BC user); its row is the lock that serialises updates."""

    key = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.key


class RateLimitHit(models.Model):
    """A request counted in the sliding window (Unix seconds)."""

    bucket = models.ForeignKey(RateLimitBucket, on_delete=models.CASCADE, related_name="hits")
    at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"hit at {self.at:.3f}"


class RateLimitLease(models.Model):
    """A concurrency slot in use until released or ``expires_at`` (a crashed holder frees it)."""

    bucket = models.ForeignKey(RateLimitBucket, on_delete=models.CASCADE, related_name="leases")
    token = models.CharField(max_length=64, unique=True)
    expires_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"lease {self.token} until {self.expires_at:.3f}"
