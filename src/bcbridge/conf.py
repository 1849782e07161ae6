"""bcbridge's settings: one namespace (``settings.BCBRIDGE``), one typed accessor.

Example::

    BCBRIDGE = {
        "ENCRYPTION_KEYS": ["<fernet key>", "<older key>"],
        "TOKEN_REFRESH_MARGIN": 300,
    }

Every key is optional except ``ENCRYPTION_KEYS``; :func:`get_settings` raises
:class:`~bcbridge.exceptions.ConfigurationError` naming the exact key when a value is wrong.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

from bcbridge.exceptions import ConfigurationError

__all__ = ["BCBridgeSettings", "connect_reset_signal", "get_settings", "get_transport"]


@dataclass(frozen=True)
class BCBridgeSettings:
    """Typed view of ``settings.BCBRIDGE``.

    Attributes:
        ENCRYPTION_KEYS: Fernet keys (urlsafe base64, 32 bytes); the first encrypts, all
            decrypt, so a new key is added in front and old ones kept until
            ``bcbridge rotate_keys`` has re-encrypted everything.
        DEFAULT_API_URL: BC API host for new connections.
        DEFAULT_AUTHORITY: Entra ID authority for new connections.
        BC_SCOPE: The BC resource scope (docs/bc/0-quick-reference.md §0).
        TOKEN_REFRESH_MARGIN: Seconds before expiry at which an access token is renewed.
        HTTP_TIMEOUT: Seconds for connect/read timeouts towards BC and Entra.
        HTTP_TRANSPORT: Dotted path of a callable ``(connection) -> httpx.BaseTransport``
            used instead of the network (tests mount the emulator in-process with it).
        DISCOVERY_CACHE_SECONDS: How long an OpenID discovery document is reused.
        REQUEST_LOG_RETENTION_DAYS: Days request-log rows are kept.
        REDIS_URL: Redis for the cross-process rate limiter; empty uses the database.
        RATE_LIMITER: ``auto`` (Redis when ``REDIS_URL`` is set, else the database),
            ``redis``, ``database``, ``local`` (one process) or ``off``.
        RATE_LIMIT_REQUESTS / RATE_LIMIT_WINDOW / RATE_LIMIT_CONCURRENCY: BC's per-user
            limits: 6,000 requests per 300-second sliding window, 5 at once (docs/bc/5-limits.md §5).
        RATE_LIMIT_TIMEOUT: Seconds a call waits for a slot before raising RateLimitTimeout.
        REQUEST_LOG: Write a :class:`~bcbridge.models.RequestLog` row per HTTP attempt.
        SYNC_PAGE_SIZE: Records per page when mirroring (``Prefer: odata.maxpagesize``; BC's
            maximum is 20,000); each page is written in one transaction.
        SYNC_OVERLAP: Seconds subtracted from the watermark in the incremental ``$filter``
            (clock skew and transactions that commit after their timestamp; re-reads are harmless).
        SYNC_LOCK_LEASE: Seconds a worker holds an entity set's sync lock without renewing it
            (renewed on every page; a dead worker's lock expires after this).
        SYNC_PREFETCH: Fetch the next page from BC while the current one is written
            (a background thread; off automatically where it cannot work, see
            ``bcbridge.sync._prefetch``).
        PUBLIC_URL: Public base URL of this site (e.g. ``https://erp.example.com``); webhook
            notificationUrls are built on it (``<PUBLIC_URL>/bcbridge/webhooks/<token>/``).
        WEBHOOK_RENEW_BEFORE: Seconds before ``expirationDateTime`` a webhook subscription is
            renewed (subscriptions live 3 days, docs/bc/6-webhooks.md §6.2; default: 1 day before).
        WEBHOOK_MAX_ATTEMPTS: Times a received webhook delivery is processed before it is
            marked failed (each retry waits longer; the admin can reprocess it).
        WEBHOOK_MAX_BODY: Largest notification body the receiver reads, in bytes; larger
            requests are refused unread and counted (BC's notifications are a few hundred
            bytes each, docs/bc/6-webhooks.md §6.4).
        WEBHOOK_RETENTION_DAYS: Days processed, failed and invalid deliveries are kept.
    """

    ENCRYPTION_KEYS: tuple[str, ...] = ()
    DEFAULT_API_URL: str = "https://api.businesscentral.dynamics.com"
    DEFAULT_AUTHORITY: str = "https://login.microsoftonline.com"
    BC_SCOPE: str = "https://api.businesscentral.dynamics.com/.default"
    TOKEN_REFRESH_MARGIN: int = 300
    HTTP_TIMEOUT: float = 30.0
    HTTP_TRANSPORT: str = ""
    DISCOVERY_CACHE_SECONDS: int = 3600
    REQUEST_LOG_RETENTION_DAYS: int = 14
    REDIS_URL: str = ""
    RATE_LIMITER: str = "auto"
    RATE_LIMIT_REQUESTS: int = 6000
    RATE_LIMIT_WINDOW: float = 300.0
    RATE_LIMIT_CONCURRENCY: int = 5
    RATE_LIMIT_TIMEOUT: float = 120.0
    REQUEST_LOG: bool = True
    SYNC_PAGE_SIZE: int = 5000
    SYNC_OVERLAP: float = 120.0
    SYNC_LOCK_LEASE: float = 60.0
    SYNC_PREFETCH: bool = True
    PUBLIC_URL: str = ""
    WEBHOOK_RENEW_BEFORE: int = 86400
    WEBHOOK_MAX_ATTEMPTS: int = 5
    WEBHOOK_MAX_BODY: int = 262144
    WEBHOOK_RETENTION_DAYS: int = 14


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigurationError(f"settings.BCBRIDGE['{name}'] must be a list of strings.")
        return tuple(v.strip() for v in value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigurationError(f"settings.BCBRIDGE['{name}'] must be True or False, got {value!r}.")
        return value
    if not isinstance(default, int | float | str):
        return value
    try:
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"settings.BCBRIDGE['{name}'] must be a {type(default).__name__}, got {value!r}."
        ) from exc


@functools.cache
def get_settings() -> BCBridgeSettings:
    """The current settings, read once and cached until Django's ``setting_changed``.

    Raises:
        ConfigurationError: an unknown key or a value of the wrong type; the message names it.
    """
    from django.conf import settings

    raw: dict[str, Any] = dict(getattr(settings, "BCBRIDGE", {}) or {})
    known = {f.name: f for f in fields(BCBridgeSettings)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigurationError(
            f"Unknown key(s) in settings.BCBRIDGE: {', '.join(unknown)}. Known: {', '.join(known)}."
        )
    values = {name: _coerce(name, raw[name], known[name].default) for name in raw}
    return BCBridgeSettings(**values)


def connect_reset_signal() -> None:
    """Clear the cache when a test overrides ``BCBRIDGE`` with ``override_settings``."""
    from django.core.signals import setting_changed

    def _reset(setting: str, **_: Any) -> None:
        if setting == "BCBRIDGE":
            get_settings.cache_clear()

    setting_changed.connect(_reset, weak=False, dispatch_uid="bcbridge-settings-reset")


def get_transport(connection: object) -> Any:
    """The httpx transport for ``connection`` from ``HTTP_TRANSPORT``, or None for the network.

    Raises:
        ConfigurationError: ``HTTP_TRANSPORT`` is not an importable dotted path.
    """
    path = get_settings().HTTP_TRANSPORT
    if not path:
        return None
    from django.utils.module_loading import import_string

    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(f"settings.BCBRIDGE['HTTP_TRANSPORT'] = {path!r} cannot be imported.") from exc
    return factory(connection)
