"""HTTP to Business Central: client, retry policy, rate limiter, URL resolver.

Imports only :mod:`bcbridge.exceptions`, :mod:`bcbridge.conf` and third-party libraries
(STYLE.md layers); persistence (request log, database limiter) is injected by the caller.
"""

from __future__ import annotations

from bcbridge.http._errors import api_error, strip_correlation_id
from bcbridge.http.client import BCClient, RequestRecord, dumps, redact_url
from bcbridge.http.ratelimit import (
    LocalRateLimiter,
    PollingRateLimiter,
    RateLimiter,
    RateLimitTimeout,
    RedisRateLimiter,
    Slot,
)
from bcbridge.http.retry import RetryPolicy, is_idempotent, parse_retry_after, should_retry
from bcbridge.http.urls import BCUrls, EndpointKind, encode_query, fill_template, with_query

__all__ = [
    "BCClient",
    "BCUrls",
    "EndpointKind",
    "LocalRateLimiter",
    "PollingRateLimiter",
    "RateLimitTimeout",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestRecord",
    "RetryPolicy",
    "Slot",
    "api_error",
    "dumps",
    "encode_query",
    "fill_template",
    "is_idempotent",
    "parse_retry_after",
    "redact_url",
    "should_retry",
    "strip_correlation_id",
    "with_query",
]
