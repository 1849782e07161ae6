"""Processing of received webhook deliveries: the queue the receiver view fills.

The receiver (:mod:`bcbridge.views.webhooks`) stores every authenticated request (without
its ``clientState``) and answers at once; this module does the work, in a worker (the
runner's job, a Celery task, the bench's thread, or a test calling :func:`process_pending`):

* ``created`` / ``updated`` (docs/bc/6-webhooks.md §6.4: the notification is only a pointer): the
  record is read from BC (with its configured children, e.g. lines) and upserted with the
  sync engine's :func:`~bcbridge.sync._upsert.write_page`, so the same signals fire as for
  polling. Several records are read in one ``$batch`` of GETs (up to 100, docs/bc/2-urls.md §2.6);
  a record BC no longer has (404) is soft-deleted.
* ``deleted``: confirmed with BC first: only when the GET of the record answers 404 is the
  mirrored row soft-deleted (``record_deleted``); a record BC still has is upserted instead,
  so a forged or stale delete changes nothing.
* A resource must be its subscription's (company, set, route) and, when it carries a
  prefix, the connection's own host, tenant and environment.
* ``collection``: an incremental pull of the set
  (:func:`~bcbridge.sync.engine.sync_entity_set`); when another worker holds the set the
  delivery is retried later.
* Lifecycle notifications (``lifecycleEvent``): the set is pulled; for
  ``subscriptionRemoved`` / ``reauthorizationRequired`` the subscription is marked lost, so
  the next maintenance pass recreates it.
* Settled deliveries older than ``WEBHOOK_RETENTION_DAYS`` are pruned (at most hourly).
* Repeats are idempotent and late or out-of-order notifications never overwrite newer
  data: a notification whose ``lastModifiedDateTime`` is not newer than the mirrored row's
  is skipped without calling BC, and ``write_page`` keeps a stored row whose
  ``lastModifiedDateTime`` is newer than what BC returned.

A delivery is claimed with a lease (one conditional ``UPDATE``), so workers never share
one. A transient failure (BC busy, rate limited, unreachable) puts it back with a growing
delay; after ``WEBHOOK_MAX_ATTEMPTS`` it is ``failed``. The incremental poll stays on as the
safety net for anything a notification never brought.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.entities import BC, EntitySetClient
from bcbridge.exceptions import NotFound, RetriableError
from bcbridge.models import (
    Company,
    DeliveryStatus,
    SubscriptionStatus,
    SyncConfig,
    SyncRun,
    WebhookDelivery,
    WebhookSubscription,
    prune_deliveries,
)
from bcbridge.odata import MAX_BATCH, BatchRequest, send_batch
from bcbridge.sync import _state
from bcbridge.sync._upsert import soft_delete, write_page
from bcbridge.sync._webhook_plan import CHANGE_TYPES, LIFECYCLE_EVENTS, Plan, merge, parse_resource, plan_delivery
from bcbridge.sync.engine import api_kwargs, configs_for, sync_entity_set
from bcbridge.sync.registry import Mirror, mirror_for

__all__ = [
    "CHANGE_TYPES",
    "LIFECYCLE_EVENTS",
    "DeliveryWorker",
    "ProcessReport",
    "parse_resource",
    "process_delivery",
    "process_pending",
    "reprocess",
    "wake",
]

logger = logging.getLogger("bcbridge.webhooks")

_LEASE = timedelta(minutes=5)
_IDS_PER_READ = MAX_BATCH  # GETs per $batch (BC takes at most 100 operations)
_wakeup = threading.Event()


def wake() -> None:
    """Tell an in-process :class:`DeliveryWorker` that a delivery is waiting (the receiver
    calls this after its transaction commits)."""
    _wakeup.set()


@dataclass
class ProcessReport:
    """Counts of one :func:`process_pending` pass."""

    processed: int = 0
    retried: int = 0
    failed: int = 0
    notifications: int = 0
    fetched: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _config(company: Company, api: str, entity_set: str) -> SyncConfig | None:
    return next((c for c in configs_for(company) if c.api == api and c.entity_set == entity_set), None)


def _rows(mirror: Mirror, company: Company, keys: Iterable[str]) -> dict[str, tuple[Any, datetime | None]]:
    """Mirrored ``key -> (pk, lastModifiedDateTime)`` of live rows."""
    parsed = {mirror.parse_key(k): k for k in keys}
    rows = mirror.model.objects.filter(  # type: ignore[attr-defined]
        **mirror.scope(company), **{f"{mirror.key_attr}__in": list(parsed)}
    ).values_list(mirror.key_attr, "pk", "last_modified_date_time")
    return {parsed[key]: (pk, modified) for key, pk, modified in rows}


def _known(stored: tuple[Any, datetime | None] | None, notified: datetime | None) -> bool:
    """True when the mirrored row is at least as new as the notification says BC's is."""
    return bool(stored and stored[1] is not None and notified is not None and stored[1] >= notified)


def _read(bc: BC, company: Company, mirror: Mirror, keys: list[str], expand: tuple[str, ...]) -> list[dict[str, Any]]:
    """The records ``keys`` as BC has them now (those BC no longer has are left out): one
    GET, or one ``$batch`` of GETs (docs/bc/2-urls.md §2.6) for several."""
    api = api_kwargs(mirror.api)
    params = {"$expand": ",".join(expand)} if expand else None
    if len(keys) == 1:
        client = EntitySetClient(bc, str(company.bc_id), mirror.entity_set, **api)
        try:
            return [client.get(keys[0], expand=list(expand) or None)]
        except NotFound:
            return []
    batch = BatchRequest()
    for key in keys:
        relative = f"companies({company.bc_id})/{mirror.entity_set}({key})"
        batch.get(relative + (f"?{urlencode(params)}" if params else ""))
    records = []
    for result in send_batch(bc.client, batch, bc.urls.batch(**api)):
        if isinstance(result.error, NotFound):
            continue
        records.append(result.value())
    return records


def _apply(bc: BC, plan: Plan, report: ProcessReport) -> None:
    now = timezone.now()
    if plan.lost:
        WebhookSubscription.objects.filter(pk__in=plan.lost).update(
            status=SubscriptionStatus.LOST, last_error="BC sent a lifecycle notification: recreate it"
        )
    for (company_pk, api, entity_set), gone_keys in plan.delete.items():
        company = plan.companies[company_pk]
        mirror = mirror_for(entity_set, api)
        stored = _rows(mirror, company, gone_keys)
        config = _config(company, api, entity_set)
        expand = tuple(config.child_sets) if config is not None else mirror.default_children
        keys = sorted(stored)
        for start in range(0, len(keys), _IDS_PER_READ):
            chunk = keys[start : start + _IDS_PER_READ]
            # a delete is only believed when BC answers 404 for the record
            still_there = _read(bc, company, mirror, chunk, expand)
            report.fetched += len(still_there)
            found = {str(r.get(mirror.key, "")).lower() for r in still_there}
            with transaction.atomic():
                if still_there:
                    write_page(mirror, company, still_there, now=timezone.now(), children=expand)
                soft_delete(mirror, company, [stored[k][0] for k in chunk if k not in found], now)
    for (company_pk, api, entity_set), wanted in plan.fetch.items():
        if (company_pk, api, entity_set) in plan.collection:
            continue  # the pull below reads them anyway
        company = plan.companies[company_pk]
        mirror = mirror_for(entity_set, api)
        stored = _rows(mirror, company, wanted)
        # a notification not newer than the mirrored row is a repeat or arrived late
        keys = [k for k, modified in wanted.items() if not _known(stored.get(k), modified)]
        report.skipped += len(wanted) - len(keys)
        config = _config(company, api, entity_set)
        expand = tuple(config.child_sets) if config is not None else mirror.default_children
        for start in range(0, len(keys), _IDS_PER_READ):
            chunk = keys[start:start + _IDS_PER_READ]
            records = _read(bc, company, mirror, chunk, expand)
            report.fetched += len(records)
            found = {str(r.get(mirror.key, "")).lower() for r in records}
            gone = [stored[k][0] for k in chunk if k not in found and k in stored]
            with transaction.atomic():
                write_page(mirror, company, records, now=timezone.now(), children=expand)
                if gone:  # notified, but BC no longer has it
                    soft_delete(mirror, company, gone, now)
    for company_pk, api, entity_set in plan.collection:
        company = plan.companies[company_pk]
        config = _config(company, api, entity_set)
        run = sync_entity_set(
            bc, company, entity_set, api=api, children=config.child_sets if config else None,
            filter=config.filter if config else "", worker=_state.worker_id(),
        )
        if run.status == SyncRun.Status.SKIPPED:
            raise _Busy(f"collection of {entity_set}: {run.error}")
        if run.status == SyncRun.Status.FAILED:
            raise RuntimeError(f"collection of {entity_set}: {run.error}")


class _Busy(RetriableError):
    """Another worker is pulling the set: the collection is processed later."""


def process_delivery(delivery: WebhookDelivery, bc: BC, report: ProcessReport | None = None) -> None:
    """Apply one received delivery (module docstring). Raises what went wrong."""
    report = report or ProcessReport()
    plan, count = plan_delivery(delivery)
    report.notifications += count
    _apply(bc, plan, report)


def _claim(ids: list[int], worker: str, now: datetime) -> list[WebhookDelivery]:
    """Lease ``ids`` to ``worker`` in one conditional ``UPDATE``; returns those it got,
    oldest first, with their connection."""
    if not ids:
        return []
    WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.RECEIVED).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=worker)
    ).update(locked_by=worker, locked_until=now + _LEASE)
    return list(WebhookDelivery.objects.select_related("connection").filter(
        pk__in=ids, locked_by=worker, status=DeliveryStatus.RECEIVED).order_by("received_at", "pk"))


def _settle(delivery: WebhookDelivery, worker: str, report: ProcessReport, error: BaseException | None) -> None:
    """Record the outcome: processed, queued again after a transient error, or failed."""
    attempts = delivery.attempts + 1
    changes: dict[str, Any] = {"attempts": attempts, "locked_by": "", "locked_until": None}
    if error is None:
        changes.update(status=DeliveryStatus.PROCESSED, error="", processed_at=timezone.now())
        report.processed += 1
    else:
        changes["error"] = f"{type(error).__name__}: {error}"[:4000]
        report.errors.append(str(error))
        retry = isinstance(error, RetriableError | OSError) and attempts < get_settings().WEBHOOK_MAX_ATTEMPTS
        if retry:
            changes.update(available_at=timezone.now() + timedelta(seconds=min(5 * 2 ** attempts, 3600)))
            report.retried += 1
        else:
            changes["status"] = DeliveryStatus.FAILED
            report.failed += 1
    WebhookDelivery.objects.filter(pk=delivery.pk, locked_by=worker).update(**changes)


def _run_batch(bc: BC, items: list[tuple[WebhookDelivery, Plan]], worker: str, report: ProcessReport) -> None:
    """Apply the deliveries of one connection together; on an error that is not transient,
    apply them one by one so only the culprit fails. Outcomes are written in one commit."""
    merged = Plan()
    for _, plan in items:
        merge(merged, plan)
    outcomes: list[tuple[WebhookDelivery, BaseException | None]] = []
    try:
        _apply(bc, merged, report)
    except (RetriableError, OSError) as exc:
        outcomes = [(delivery, exc) for delivery, _ in items]
    except Exception as exc:  # recorded on the deliveries; the worker goes on
        if len(items) == 1:
            outcomes = [(items[0][0], exc)]
        for delivery, plan in items if len(items) > 1 else ():
            try:
                _apply(bc, plan, report)
            except Exception as one:
                outcomes.append((delivery, one))
            else:
                outcomes.append((delivery, None))
    else:
        outcomes = [(delivery, None) for delivery, _ in items]
    done = [delivery.pk for delivery, error in outcomes if error is None]
    with transaction.atomic():
        if done:  # the usual case: one UPDATE for the batch
            WebhookDelivery.objects.filter(pk__in=done, locked_by=worker).update(
                attempts=F("attempts") + 1, locked_by="", locked_until=None, status=DeliveryStatus.PROCESSED,
                error="", processed_at=timezone.now())
            report.processed += len(done)
        for delivery, error in outcomes:
            if error is not None:
                _settle(delivery, worker, report, error)


def process_pending(
    *,
    limit: int = 200,
    connection_id: int | None = None,
    worker: str | None = None,
    clients: dict[int, BC] | None = None,
) -> ProcessReport:
    """Process up to ``limit`` received deliveries, oldest first, each connection's together
    (one read per changed record for the whole batch); the runner's ``webhook-deliveries``
    job, and what tests call.

    Args:
        limit: Most deliveries in this pass.
        connection_id: Only this connection's deliveries.
        worker: Lease holder id (default: a new one).
        clients: Facades to reuse per connection id (kept open for the caller); default:
            new ones, closed at the end.

    Returns:
        A :class:`ProcessReport`; failures are recorded on the deliveries, not raised.
    """
    worker = worker or _state.worker_id()
    report = ProcessReport()
    now = timezone.now()
    queue = WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED, available_at__lte=now).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    if connection_id is not None:
        queue = queue.filter(connection_id=connection_id)
    ids = list(queue.order_by("received_at", "pk").values_list("pk", flat=True)[:limit])
    deliveries = _claim(ids, worker, now)
    batches: dict[int, list[tuple[WebhookDelivery, Plan]]] = {}
    subscriptions = {  # every subscription the batch's connections have: one query
        (s.connection_id, s.subscription_id): s for s in WebhookSubscription.objects.filter(
            connection_id__in={d.connection_id for d in deliveries}).select_related("company", "connection")}
    for delivery in deliveries:
        try:
            if delivery.connection_id is None:
                raise ValueError("the delivery has no connection")
            plan, count = plan_delivery(delivery, subscriptions)
        except (ValueError, orjson.JSONDecodeError) as exc:
            _settle(delivery, worker, report, exc)
            continue
        report.notifications += count
        batches.setdefault(delivery.connection_id, []).append((delivery, plan))
    _prune_now_and_then(now)
    own = clients is None
    clients = {} if clients is None else clients
    try:
        for conn_id, items in batches.items():
            bc = clients.get(conn_id)
            if bc is None:
                bc = clients[conn_id] = BC(items[0][0].connection)  # type: ignore[arg-type]
            _run_batch(bc, items, worker, report)
    finally:
        if own:
            for bc in clients.values():
                bc.close()
    return report


_pruned_at: list[datetime] = []


def _prune_now_and_then(now: datetime) -> None:
    """The retention job (``WEBHOOK_RETENTION_DAYS``), run by the queue's worker at most
    once an hour per process."""
    if _pruned_at and now - _pruned_at[0] < timedelta(hours=1):
        return
    _pruned_at[:] = [now]
    removed = prune_deliveries(now=now)
    if removed:
        logger.info("pruned %d settled webhook deliveries", removed)


def reprocess(deliveries: Iterable[WebhookDelivery]) -> ProcessReport:
    """Queue ``deliveries`` again (any status but ``invalid``) and process them now (the
    admin's "reprocess" action)."""
    ids = [d.pk for d in deliveries if d.status != DeliveryStatus.INVALID]
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.RECEIVED, available_at=timezone.now(), locked_by="", locked_until=None, error="")
    report = ProcessReport()
    for connection_id in set(WebhookDelivery.objects.filter(pk__in=ids).values_list("connection_id", flat=True)):
        part = process_pending(limit=len(ids), connection_id=connection_id)
        for name in ("processed", "retried", "failed", "notifications", "fetched", "skipped"):
            setattr(report, name, getattr(report, name) + getattr(part, name))
        report.errors.extend(part.errors)
    return report


class DeliveryWorker:
    """Processes deliveries in a background thread as soon as the receiver stores them
    (:func:`wake`), else every ``interval`` seconds; used by ``bcbridge run`` and the bench.

    Call :meth:`start`, and :meth:`stop` to end it (it finishes the delivery in hand).
    """

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0

    def start(self) -> DeliveryWorker:
        self._thread = threading.Thread(target=self._run, name="bcbridge-webhook-deliveries", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        _wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        from django.db import close_old_connections

        clients: dict[int, BC] = {}
        worker = _state.worker_id()
        try:
            while not self._stop.is_set():
                _wakeup.wait(self.interval)
                _wakeup.clear()
                try:
                    while True:
                        report = process_pending(worker=worker, clients=clients)
                        self.processed += report.processed
                        if report.processed + report.failed + report.retried == 0:
                            break
                except Exception:  # keep the worker alive; the delivery row keeps the error
                    logger.exception("webhook delivery processing failed")
                    close_old_connections()
        finally:
            for bc in clients.values():
                bc.close()
            close_old_connections()
