"""Who calls the REST API: an API key (``Authorization: Bearer bcb_...``) or a staff session.

Keys are looked up by their visible prefix and checked against the stored SHA-256 hash in
constant time (:meth:`~bcbridge.models.ApiClient.find`); a revoked key is a 401
``key_revoked``. A Django session of a staff user (the admin's login) has every scope and
no company restriction; its unsafe methods need Django's CSRF token as usual.

Each key is throttled to ``rate_limit`` requests per ``rate_window`` seconds in a fixed
window counted in the database (one conditional ``UPDATE`` per request, so every process
shares the count); beyond it the answer is 429 ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from bcbridge.api.problems import Problem
from bcbridge.models import SCOPES, ApiClient, Company

__all__ = ["ApiKeyAuth", "Principal", "StaffSessionAuth", "principal", "require"]


@dataclass
class Principal:
    """The caller: its scopes, the company it is limited to, and an owner id for
    idempotency keys (``client:<id>`` or ``user:<id>``)."""

    owner: str
    scopes: frozenset[str]
    company: Company | None = None
    client: ApiClient | None = None
    endpoints: list[str] = field(default_factory=list)


def _throttle(client: ApiClient, now: datetime) -> None:
    window = max(int(client.rate_window), 1)
    start = datetime.fromtimestamp(math.floor(now.timestamp() / window) * window, tz=now.tzinfo)
    rows = ApiClient.objects.filter(pk=client.pk)
    for _ in range(2):  # a new window may be opened by another process between the two updates
        if rows.filter(window_started_at=start, window_count__lt=client.rate_limit).update(
            window_count=F("window_count") + 1, last_used_at=now
        ):
            return
        if rows.exclude(window_started_at=start).update(window_started_at=start, window_count=1, last_used_at=now):
            return
    wait = max(1, math.ceil((start + timedelta(seconds=window) - now).total_seconds()))
    raise Problem(
        429,
        "rate_limited",
        f"More than {client.rate_limit} requests in {window} s with this key; retry in {wait} s.",
        headers={"Retry-After": str(wait)},
    )


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>``: a key made with ``bcbridge apikey create``."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        client = ApiClient.find(token.strip())
        if client is None:
            raise Problem(
                401, "unauthorized", "Unknown API key.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        if not client.active:
            raise Problem(
                401,
                "key_revoked",
                f"The key {client.prefix}… was revoked; ask for a new one.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        _throttle(client, timezone.now())
        return Principal(
            owner=f"client:{client.pk}",
            scopes=frozenset(client.scopes),
            company=client.company,
            client=client,
            endpoints=list(client.endpoints or []),
        )


class StaffSessionAuth(SessionAuth):
    """The admin's session (staff users): every scope."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return Principal(owner=f"user:{user.pk}", scopes=frozenset(SCOPES))
        return None


def principal(request: HttpRequest) -> Principal:
    auth: Any = getattr(request, "auth", None)
    if not isinstance(auth, Principal):
        raise Problem(401, "unauthorized", "Send Authorization: Bearer <key>.")
    return auth


def require(request: HttpRequest, scope: str) -> Principal:
    """The caller, if it has ``scope``.

    Raises:
        Problem: 403 ``insufficient_scope`` naming the scope.
    """
    caller = principal(request)
    if scope not in caller.scopes:
        raise Problem(
            403,
            "insufficient_scope",
            f"This key lacks the {scope!r} scope (it has {', '.join(sorted(caller.scopes)) or 'none'}).",
        )
    return caller
