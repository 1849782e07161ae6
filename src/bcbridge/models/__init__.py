"""bcbridge's models: the storage layer. Models never call BC; auth, sync and push write them."""

from __future__ import annotations

from bcbridge.models.connection import Company, Connection, GrantType, TokenStatus
from bcbridge.models.endpoint import ApiEndpoint, EndpointKind, HttpMethod, RequestLog
from bcbridge.models.ratelimit import RateLimitBucket, RateLimitHit, RateLimitLease

__all__ = [
    "ApiEndpoint",
    "Company",
    "Connection",
    "EndpointKind",
    "GrantType",
    "HttpMethod",
    "RateLimitBucket",
    "RateLimitHit",
    "RateLimitLease",
    "RequestLog",
    "TokenStatus",
]
