"""The webhook subscription manager: subscribe, renew, recreate, catch up, unsubscribe.

BC's rules (docs/bc/6-webhooks.md §6.1-§6.3,
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions):
a
subscription is one entity set of one company (``resource``), lives 3 days unless renewed
with ``PATCH`` + ``If-Match``, and BC deletes it after 36 hours of failed deliveries or on
any answer other than 2xx/408/429/5xx; creating and renewing run a handshake against the
``notificationUrl``. At most 200 per environment.

What is wanted: every enabled :class:`~bcbridge.models.SyncConfig` whose ``mode`` is
``webhook`` or ``both`` and whose set BC notifies about (§6.3; custom API sets are assumed
able), for each selected company of each enabled connection. :func:`maintain` makes BC
match that, one connection at a time:

* lists BC's subscriptions once per API route; a row BC no longer lists (deleted, expired)
  is ``lost``: it is recreated and the set is **caught up** with an incremental pull
  (:func:`bcbridge.sync.engine.sync_entity_set`), so changes notified while it was gone are
  not missed;
* creates missing subscriptions (each with a fresh random ``clientState``, stored
  encrypted), renews those expiring within ``WEBHOOK_RENEW_BEFORE`` seconds, and deletes
  those no longer wanted (set or connection disabled).

The notificationUrl is ``<PUBLIC_URL or --notification-url-base>/bcbridge/webhooks/<token>/``
with a random token per connection (:class:`~bcbridge.models.WebhookReceiver`). Removing a
connection deletes its subscriptions in BC first (a ``pre_delete`` receiver, best effort;
BC would delete them anyway on the receiver's 400 answers, or let them expire).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models.signals import pre_delete
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.entities import BC
from bcbridge.entities.catalog import WEBHOOK_ENTITY_SETS
from bcbridge.exceptions import BCAPIError, BCBridgeError, ConcurrencyConflict, ConfigurationError, NotFound
from bcbridge.models import (
    Company,
    Connection,
    SubscriptionStatus,
    SyncConfig,
    SyncMode,
    SyncRun,
    SyncState,
    WebhookReceiver,
    WebhookSubscription,
)
from bcbridge.sync.engine import api_kwargs, companies_to_sync, configs_for, ensure_default_configs, sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set
from bcbridge.sync.registry import parse_datetime

__all__ = [
    "WebhookReport",
    "catch_up",
    "enable",
    "maintain",
    "maintain_all",
    "notification_url",
    "receiver_for",
    "unsubscribe",
    "webhook_capable",
]

logger = logging.getLogger("bcbridge.webhooks")


@dataclass
class WebhookReport:
    """What one pass did: ``(subscription, action, detail)`` rows and notes.

    Actions: ``created``, ``recreated``, ``renewed``, ``kept``, ``deleted``, ``failed``,
    ``caught up``.
    """

    actions: list[tuple[WebhookSubscription, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, sub: WebhookSubscription, action: str, detail: str = "") -> None:
        self.actions.append((sub, action, detail))

    def count(self, action: str) -> int:
        return sum(1 for _, a, _ in self.actions if a == action)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


def webhook_capable(entity_set: str, api: str = "") -> bool:
    """True for the API v2.0 sets of docs/bc/6-webhooks.md §6.3 and for any custom API set."""
    return bool(api) or entity_set in WEBHOOK_ENTITY_SETS


def receiver_for(connection: Connection) -> WebhookReceiver:
    """The connection's receiver (created with a random token on first use)."""
    receiver, _ = WebhookReceiver.objects.get_or_create(connection=connection)
    return receiver


def notification_url(connection: Connection, base: str | None = None) -> str:
    """``{base}/bcbridge/webhooks/{token}/``; ``base`` defaults to the ``PUBLIC_URL`` setting.

    Raises:
        ConfigurationError: neither ``base`` nor ``PUBLIC_URL`` is set.
    """
    base = (base or get_settings().PUBLIC_URL).rstrip("/")
    if not base:
        raise ConfigurationError(
            "settings.BCBRIDGE['PUBLIC_URL'] is empty: set it (or pass --notification-url-base) to the "
            "public https URL BC can reach this site at."
        )
    token = receiver_for(connection).token
    try:
        path = reverse("bcbridge:webhook", kwargs={"token": token})
    except NoReverseMatch:
        path = f"/bcbridge/webhooks/{token}/"
    return base + path


def _resource(company: Company, entity_set: str, api: str) -> str:
    return f"/api/{api or 'v2.0'}/companies({company.bc_id})/{entity_set}"


def enable(connection: Connection, entity_sets: list[str], mode: str = SyncMode.BOTH) -> list[SyncConfig]:
    """Set the connection-wide configuration of ``entity_sets`` to ``mode`` (``both``:
    webhooks, with polls kept as a safety net; ``poll``: webhooks off), creating rows as
    needed. Raises :class:`ConfigurationError` for a set BC sends no notifications for."""
    ensure_default_configs(connection)
    rows = []
    for name in entity_sets:
        if mode != SyncMode.POLL and not webhook_capable(name):
            raise ConfigurationError(f"BC sends no webhook notifications for {name!r} (docs/bc/6-webhooks.md §6.3).")
        config = SyncConfig.objects.filter(connection=connection, company__isnull=True, api="", entity_set=name).first()
        if config is None:
            config = SyncConfig(connection=connection, entity_set=name)
        config.mode = mode
        config.save()
        rows.append(config)
    return rows


def _wanted(connection: Connection) -> dict[tuple[int, str, str], tuple[Company, SyncConfig]]:
    """(company pk, api, entity set) -> (company, config) of every wanted subscription."""
    if not connection.enabled:
        return {}
    companies, _ = companies_to_sync(connection)
    wanted = {}
    for company in companies:
        for config in configs_for(company):
            if config.mode in (SyncMode.WEBHOOK, SyncMode.BOTH) and webhook_capable(config.entity_set, config.api):
                wanted[(company.pk, config.api, config.entity_set)] = (company, config)
    return wanted


def _bc_subscription_ids(bc: BC, apis: set[str]) -> set[str]:
    found: set[str] = set()
    for api in apis:
        payload = bc.client.get_json(bc.urls.subscriptions(**api_kwargs(api)))
        found.update(str(s.get("subscriptionId")) for s in payload.get("value", []))
    return found


def _store(sub: WebhookSubscription, payload: dict[str, Any], now: datetime, **changes: Any) -> None:
    sub.subscription_id = str(payload.get("subscriptionId") or sub.subscription_id)
    sub.etag = str(payload.get("@odata.etag") or "")
    sub.expiration_date_time = parse_datetime(payload.get("expirationDateTime"))
    sub.status = SubscriptionStatus.ACTIVE
    sub.last_error = ""
    sub.checked_at = now
    for name, value in changes.items():
        setattr(sub, name, value)
    sub.save()


def _create(bc: BC, sub: WebhookSubscription, url: str, now: datetime) -> None:
    sub.client_state = secrets.token_urlsafe(32)  # 43 characters: within BC's 50 (UNVERIFIED)
    sub.notification_url = url
    sub.resource = _resource(sub.company, sub.entity_set, sub.api)
    body = {"notificationUrl": url, "resource": sub.resource, "clientState": sub.client_state}
    payload = bc.client.post_json(bc.urls.subscriptions(**api_kwargs(sub.api)), body)
    _store(sub, payload, now, subscribed_at=now)


def _renew(bc: BC, sub: WebhookSubscription, url: str, now: datetime) -> None:
    body = {"notificationUrl": url, "resource": sub.resource, "clientState": sub.client_state}
    address = bc.urls.subscriptions(sub.subscription_id, **api_kwargs(sub.api))
    try:
        payload = bc.client.patch_json(address, body, sub.etag or "*")
    except ConcurrencyConflict:  # someone else renewed it: re-read the ETag, try once more
        fresh = bc.client.get_json(address)
        payload = bc.client.patch_json(address, body, str(fresh.get("@odata.etag") or "*"))
    sub.notification_url = url
    _store(sub, payload, now, renewed_at=now)


def _delete_in_bc(bc: BC, sub: WebhookSubscription) -> None:
    if not sub.subscription_id:
        return
    with contextlib.suppress(NotFound):  # already gone (expired or deleted by BC)
        bc.client.delete(bc.urls.subscriptions(sub.subscription_id, **api_kwargs(sub.api)), sub.etag or "*")


def _forget(bc: BC, sub: WebhookSubscription) -> None:
    _delete_in_bc(bc, sub)
    sub.delete()


def catch_up(bc: BC, sub: WebhookSubscription, config: SyncConfig | None = None) -> list[SyncRun]:
    """Bring the subscription's set up to date after it was (re)created: an incremental pull
    for what changed while no notification could come, then a reconcile for what was
    deleted (an incremental pull cannot see deletes). Only for a set synced before: the
    first full load is the poll's job. Returns the runs (none when never synced)."""
    synced = SyncState.objects.filter(
        company=sub.company, api=sub.api, entity_set=sub.entity_set, watermark__isnull=False
    ).exists()
    if not synced:
        return []
    options: dict[str, Any] = {"api": sub.api}
    if config is not None:
        options.update(children=config.child_sets, filter=config.filter)
    runs = [sync_entity_set(bc, sub.company, sub.entity_set, **options)]
    if runs[0].status == SyncRun.Status.SUCCEEDED:
        runs.append(reconcile_entity_set(bc, sub.company, sub.entity_set, fix=True, **options))
    if all(run.status == SyncRun.Status.SUCCEEDED for run in runs):
        WebhookSubscription.objects.filter(pk=sub.pk).update(caught_up_at=timezone.now())
    return runs


def maintain(
    connection: Connection,
    *,
    notification_url_base: str | None = None,
    renew: bool = True,
    force_renew: bool = False,
    now: datetime | None = None,
    bc: BC | None = None,
) -> WebhookReport:
    """Make BC's subscriptions for ``connection`` match what is wanted (module docstring).

    Args:
        connection: The connection (a disabled one loses all its subscriptions).
        notification_url_base: Public base URL (default ``PUBLIC_URL``).
        renew: Renew subscriptions expiring within ``WEBHOOK_RENEW_BEFORE`` seconds.
        force_renew: Renew every active subscription now.
        now: The time to judge expiry by (default: now).
        bc: A facade to reuse (default: a new one, closed at the end).

    Returns:
        A :class:`WebhookReport`; BC errors of one subscription are recorded on its row
        (``failed``) and in the report, not raised.

    Raises:
        ConfigurationError: no notificationUrl base is configured.
    """
    now = now or timezone.now()
    report = WebhookReport()
    wanted = _wanted(connection)
    rows = {(s.company_id, s.api, s.entity_set): s
            for s in WebhookSubscription.objects.filter(connection=connection).select_related("company")}
    if not wanted and not rows:
        return report
    url = notification_url(connection, notification_url_base) if wanted else ""
    own = bc is None
    bc = bc or BC(connection)
    try:
        apis = {api for _, api, _ in wanted} | {s.api for s in rows.values()}
        in_bc = _bc_subscription_ids(bc, apis)
        for key, sub in rows.items():
            if key not in wanted:
                _run(report, sub, "deleted", lambda s=sub: _forget(bc, s))
        margin = timedelta(seconds=get_settings().WEBHOOK_RENEW_BEFORE)
        for key, (company, config) in wanted.items():
            sub = rows.get(key) or WebhookSubscription(
                connection=connection, company=company, api=config.api, entity_set=config.entity_set)
            if not (sub.subscription_id and sub.subscription_id in in_bc):
                if sub.pk and sub.subscription_id:
                    sub.status = SubscriptionStatus.LOST  # BC deleted it or let it expire
                again = bool(sub.subscribed_at)
                if _run(report, sub, "recreated" if again else "created", lambda s=sub: _create(bc, s, url, now)):
                    _catch_up(report, bc, sub, config)
            elif renew and (force_renew or sub.status != SubscriptionStatus.ACTIVE or sub.notification_url != url
                            or sub.expiration_date_time is None or sub.expiration_date_time - now < margin):
                _run(report, sub, "renewed", lambda s=sub: _renew(bc, s, url, now))
            else:
                WebhookSubscription.objects.filter(pk=sub.pk).update(checked_at=now)
                report.add(sub, "kept", f"expires {sub.expiration_date_time:%Y-%m-%d %H:%M} UTC")
    finally:
        if own:
            bc.close()
    return report


def _run(report: WebhookReport, sub: WebhookSubscription, action: str, step: Any) -> bool:
    try:
        step()
    except NotFound as exc:
        sub.status, sub.last_error = SubscriptionStatus.LOST, str(exc)[:2000]
        if sub.pk:
            sub.save(update_fields=["status", "last_error"])
        report.add(sub, "failed", f"{action}: BC has no such subscription")
        return False
    except BCBridgeError as exc:
        logger.warning("webhook subscription %s: %s failed: %s", sub, action, exc)
        sub.status, sub.last_error = SubscriptionStatus.FAILED, str(exc)[:2000]
        if isinstance(exc, BCAPIError):
            sub.last_error = f"{exc.status} {exc.code}: {exc.message}"[:2000]
        if sub.pk or action != "deleted":
            sub.save()
        report.add(sub, "failed", f"{action}: {sub.last_error}")
        return False
    report.add(sub, action)
    return True


def _catch_up(report: WebhookReport, bc: BC, sub: WebhookSubscription, config: SyncConfig) -> None:
    for run in catch_up(bc, sub, config):
        detail = f"{run.kind} {run.status}: {run.created} created, {run.updated} updated, {run.deleted} deleted"
        report.add(sub, "caught up", f"{detail} {run.error}".strip())


def unsubscribe(connection: Connection, entity_sets: list[str] | None = None, *, bc: BC | None = None) -> WebhookReport:
    """Delete the connection's subscriptions (of ``entity_sets`` only, when given) in BC and
    locally. Named sets also go back to ``poll`` mode so :func:`maintain` leaves them be."""
    report = WebhookReport()
    query = WebhookSubscription.objects.filter(connection=connection).select_related("company")
    if entity_sets:
        query = query.filter(entity_set__in=entity_sets)
        SyncConfig.objects.filter(connection=connection, entity_set__in=entity_sets).update(mode=SyncMode.POLL)
    subs = list(query)
    if not subs:
        return report
    own = bc is None
    bc = bc or BC(connection)
    try:
        for sub in subs:
            _run(report, sub, "deleted", lambda s=sub: _forget(bc, s))
    finally:
        if own:
            bc.close()
    return report


def maintain_all(*, notification_url_base: str | None = None, now: datetime | None = None) -> list[WebhookReport]:
    """:func:`maintain` every connection (the runner's ``webhooks`` job). A connection that
    cannot build its notificationUrl (no ``PUBLIC_URL``) is noted, not raised."""
    reports = []
    for connection in Connection.objects.all():
        try:
            reports.append(maintain(connection, notification_url_base=notification_url_base, now=now))
        except BCBridgeError as exc:
            report = WebhookReport(notes=[f"{connection.name}: {exc}"])
            reports.append(report)
    return reports


def _on_connection_delete(sender: Any, instance: Connection, **kwargs: Any) -> None:
    if not WebhookSubscription.objects.filter(connection=instance).exists():
        return
    try:
        unsubscribe(instance)
    except Exception:  # removing a connection must not fail because BC is unreachable
        logger.warning("could not delete the webhook subscriptions of %s in BC", instance, exc_info=True)


pre_delete.connect(_on_connection_delete, sender=Connection, dispatch_uid="bcbridge-webhooks-unsubscribe")


def _register_jobs() -> None:
    """The runner's jobs: keep subscriptions alive (hourly) and process deliveries."""
    from bcbridge import runner
    from bcbridge.sync.notifications import process_pending

    runner.register("webhooks", 3600.0, lambda worker: sum(len(r.actions) for r in maintain_all()))
    # a DeliveryWorker thread (bcbridge.sync.notifications) picks deliveries up faster
    runner.register("webhook-deliveries", 1.0, lambda worker: process_pending(worker=worker).processed)


_register_jobs()
