"""Reconciliation: compare the mirror with BC's keys and repair what differs.

BC sends no notification for most deletes and an incremental pull cannot see them, so
reconciliation lists the whole set cheaply::

    GET companies({id})/items?$select=id,lastModifiedDateTime   (every entity keeps @odata.etag)

page by page, and compares each page with the mirror:

* **missing**: in BC, not in the mirror (or soft-deleted there);
* **stale**: in both, but the ``@odata.etag`` or ``lastModifiedDateTime`` differ;
* **extra**: in the mirror, not in BC; found without holding the key list in memory: every
  mirrored row BC lists gets ``seen_at`` stamped, and live rows left unstamped after the
  complete listing are the extras.

With ``fix=True`` (the default, as the issue asks) extras are soft-deleted
(``record_deleted``) and missing and stale records are fetched again by key, with their
children, and upserted. Lines are compared through their header: a line change is a change
of its document (docs/bc/4-concurrency.md §4), so a stale header means stale lines and re-fetching it
with ``$expand`` repairs both.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import Company, Connection, SyncRun
from bcbridge.odata import Query, iter_pages, literal
from bcbridge.sync import _state
from bcbridge.sync._upsert import _existing, soft_delete, write_page
from bcbridge.sync.engine import SyncReport, _count, _set_url, each_config, resolve_mirror
from bcbridge.sync.progress import NullProgress, Progress
from bcbridge.sync.registry import Mirror, parse_datetime

__all__ = ["reconcile", "reconcile_entity_set"]

logger = logging.getLogger("bcbridge.sync")

#: Keys per re-fetch request: ``id eq A or id eq B ...`` (``or`` on one field is allowed,
#: docs/bc/3-odata-queries.md §3) kept well under URL length limits.
_FETCH_KEYS = 40


def reconcile_entity_set(
    bc: BC,
    company: Company,
    entity_set: str,
    *,
    api: str = "",
    fix: bool = True,
    children: list[str] | tuple[str, ...] | None = None,
    filter: str = "",
    page_size: int | None = None,
    progress: Progress | None = None,
    worker: str | None = None,
) -> SyncRun:
    """Compare one entity set of one company with BC and (with ``fix``) repair the mirror.

    Returns:
        A ``reconcile`` :class:`~bcbridge.models.SyncRun` whose ``missing``, ``extra`` and
        ``stale`` are the differences found (before repair); ``created``/``updated``/
        ``deleted`` count the repairs. ``skipped`` when another worker holds the set,
        ``failed`` with the error when BC could not be read.
    """
    progress = progress or NullProgress()
    worker = worker or _state.worker_id()
    try:
        mirror = resolve_mirror(bc, entity_set, api)
    except BCBridgeError as exc:
        run = SyncRun(connection_id=company.connection_id, company=company, api=api, entity_set=entity_set)
        run.kind, run.status, run.error = SyncRun.Kind.RECONCILE, SyncRun.Status.FAILED, str(exc)
        run.finished_at = timezone.now()
        run.save()
        return run
    expand = tuple(mirror.default_children if children is None else children)
    state = _state.state_for(company, entity_set, api)
    run = SyncRun.objects.create(
        connection_id=company.connection_id,
        company=company,
        api=api,
        entity_set=entity_set,
        worker=worker,
        kind=SyncRun.Kind.RECONCILE,
    )
    if not _state.acquire(state, worker):
        run.status, run.error = SyncRun.Status.SKIPPED, f"locked by {state.locked_by}"
        run.finished_at = timezone.now()
        run.save()
        return run
    try:
        query = Query().select(*mirror.select_fields)
        if filter:
            query = query.filter(filter)
        url = _set_url(bc, company, mirror)
        progress.started(run, _count(bc, url, query) if progress.wants_total else None)
        refetch: list[Any] = []
        for page in iter_pages(bc.client, url, query, page_size or get_settings().SYNC_PAGE_SIZE):
            records = page.get("value") or []
            refetch.extend(_compare(mirror, company, records, run))
            run.pages += 1
            run.fetched += len(records)
            _state.renew(state, worker)
            progress.page(run, len(records))
        now = timezone.now()
        extras = list(
            mirror.model.objects.filter(**mirror.scope(company))  # type: ignore[attr-defined]
            .filter(Q(seen_at__lt=run.started_at) | Q(seen_at__isnull=True))
            .values_list("pk", flat=True)
        )
        run.extra = len(extras)
        if fix:
            with transaction.atomic():
                run.deleted += soft_delete(mirror, company, extras, now)
            if mirror.key_fields and refetch:
                # several key fields cannot be or-ed in one $filter (docs/bc/3-odata-queries.md §3): list it all again
                _refetch(bc, url, mirror, company, Query(), expand, run, page_size)
            for start in range(0, len(refetch) if not mirror.key_fields else 0, _FETCH_KEYS):
                keys = refetch[start : start + _FETCH_KEYS]
                condition = " or ".join(f"{mirror.key} eq {_key_literal(key)}" for key in keys)
                _refetch(bc, url, mirror, company, Query().filter(condition), expand, run)
                _state.renew(state, worker)
    except Exception as exc:
        logger.warning("reconcile of %s of %s failed: %s", entity_set, company, exc, exc_info=True)
        run.status, run.error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        run.status = SyncRun.Status.SUCCEEDED
    finally:
        _state.release(state, worker)
        run.finished_at = timezone.now()
        run.save()
    progress.finished(run)
    return run


def _compare(mirror: Mirror, company: Company, records: list[dict[str, Any]], run: SyncRun) -> list[Any]:
    """Count one page's missing and stale records, stamp the ones present; return keys to re-fetch."""
    keyed = {mirror.key_of(r): r for r in records}
    existing = _existing(mirror, company, list(keyed))
    refetch: list[Any] = []
    present: list[Any] = []
    for key, record in keyed.items():
        old = existing.get(key)
        if old is None or old[3]:
            run.missing += 1
            refetch.append(record.get(mirror.key))
            continue
        present.append(old[0])
        modified = parse_datetime(record.get(mirror.modified_field)) if mirror.modified_field else None
        if str(record.get("@odata.etag") or "") != old[1] or (modified is not None and modified != old[2]):
            run.stale += 1
            refetch.append(record.get(mirror.key))
    now = timezone.now()
    for start in range(0, len(present), 5000):
        mirror.model.all_objects.filter(pk__in=present[start : start + 5000]).update(seen_at=now)  # type: ignore[attr-defined]
    return refetch


def _refetch(
    bc: BC,
    url: str,
    mirror: Mirror,
    company: Company,
    query: Query,
    expand: tuple[str, ...],
    run: SyncRun,
    page_size: int | None = None,
) -> None:
    """Fetch what ``query`` selects again (with its children) and upsert it."""
    if expand:
        query = query.expand(*expand)
    for page in iter_pages(bc.client, url, query, page_size):
        with transaction.atomic():
            result = write_page(mirror, company, page.get("value") or [], now=timezone.now(), children=expand)
        run.created += result.created
        run.updated += result.updated
        run.deleted += result.deleted


def _key_literal(key: Any) -> str:
    """GUID keys are bare in ``$filter`` (docs/bc/3-odata-queries.md §3); other keys are OData literals."""
    text = str(key)
    if len(text) == 36 and text.count("-") == 4:
        return text
    return literal(key)


def reconcile(
    connection: Connection | None = None,
    entity_sets: list[str] | None = None,
    *,
    fix: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Reconcile the configured (or named) sets of the selected companies of each enabled
    connection (or of ``connection``); the ``bcbridge reconcile`` command.

    Returns:
        A :class:`~bcbridge.sync.engine.SyncReport` of ``reconcile`` runs.
    """
    report = SyncReport()
    for bc, company, config in each_config(report, connection, entity_sets):
        report.runs.append(
            reconcile_entity_set(
                bc,
                company,
                config.entity_set,
                api=config.api,
                fix=fix,
                children=config.child_sets,
                filter=config.filter,
                page_size=config.page_size,
                progress=progress,
            )
        )
    return report
