"""The sync engine: full load and incremental pull of an entity set into the mirror.

Incremental pull (docs/bc/3-odata-queries.md §3, the docs' canonical filter)::

    GET companies({id})/salesInvoices?$filter=lastModifiedDateTime gt <watermark - overlap>
        &$orderby=lastModifiedDateTime&$expand=salesInvoiceLines
    Prefer: odata.maxpagesize=<SYNC_PAGE_SIZE>

Pages are streamed (``@odata.nextLink``) and each one is written in one transaction
together with the new watermark (the greatest ``lastModifiedDateTime`` of the page, which
only moves forward), so a crash loses at most the page in flight and a resume re-reads from
the saved watermark; upserts are idempotent, so the overlap window and a replayed page
duplicate nothing. Because pages are ordered by ``lastModifiedDateTime``, everything up to
the watermark is stored even when a full load dies half-way.

A line change is a change of its document (BC bumps the header's ETag and
``lastModifiedDateTime``, docs/bc/4-concurrency.md §4), so pulling headers with ``$expand`` of their lines
keeps lines current; each parent's children are replaced as a whole.

A pull that still has at least :data:`PARTITION_MIN_PAGES` pages after its first (a first
load, or an incremental pull after a long pause or a crash) reads the rest in
``lastModifiedDateTime`` ranges with up to ``streams`` parallel streams, written as they
arrive; the watermark then moves only up to the lowest range not yet finished
(:mod:`bcbridge.sync.partition`), and a final pass from the watermark picks up what changed
while the ranges were read.

A full sync (the first one, ``full=True`` or a set without a change-tracking field) lists
the whole set and, when it completes without an extra ``$filter``, soft-deletes the rows BC
did not list. Deletes between full syncs are found by :mod:`bcbridge.sync.reconcile`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.entities import BC, EntitySetClient
from bcbridge.exceptions import BCBridgeError, ConfigurationError
from bcbridge.models import Company, Connection, SyncConfig, SyncMode, SyncRun, SyncState
from bcbridge.odata import F, Query, fetch_metadata, iter_pages
from bcbridge.signals import sync_finished
from bcbridge.sync import _parallel, _state
from bcbridge.sync._prefetch import prefetch_possible, prefetched
from bcbridge.sync._upsert import PageResult, soft_delete, write_page
from bcbridge.sync.progress import NullProgress, Progress
from bcbridge.sync.registry import DEFAULT_SETS, WEB_SERVICE, Mirror, mirror_for, web_service_mirror

__all__ = [
    "SyncReport",
    "api_kwargs",
    "companies_to_sync",
    "configs_for",
    "ensure_default_configs",
    "resolve_mirror",
    "sync",
    "sync_due",
    "sync_entity_set",
]

logger = logging.getLogger("bcbridge.sync")

#: Streams of a large pull (BC processes 5 requests of a user at once, docs/bc/5-limits.md §5); never
#: more than the connection's ``RATE_LIMIT_CONCURRENCY``.
DEFAULT_STREAMS = 5

#: A pull is read in parallel ranges when, after its first page, at least this many pages
#: remain (below that, planning the ranges costs about what the streams save: a few
#: requests' latency); smaller pulls (most incremental ones) stay one stream.
PARTITION_MIN_PAGES = 6


def api_kwargs(api: str) -> dict[str, str]:
    """``publisher/group/version`` -> the keyword arguments of :class:`EntitySetClient`."""
    if not api:
        return {}
    publisher, group, version = api.strip("/").split("/")
    return {"publisher": publisher, "group": group, "version": version}


def _set_url(bc: BC, company: Company, mirror: Mirror) -> str:
    """The collection URL: an API entity set of the company, or a web service of it."""
    if mirror.api == WEB_SERVICE:
        return bc.urls.web_service(company.name, mirror.entity_set)
    return EntitySetClient(bc, str(company.bc_id), mirror.entity_set, **api_kwargs(mirror.api)).url


_web_service_keys: dict[tuple[int, str], tuple[str, ...]] = {}


def resolve_mirror(bc: BC, entity_set: str, api: str = "") -> Mirror:
    """:func:`~bcbridge.sync.registry.mirror_for`, plus web services, whose key fields are
    read from ``ODataV4/$metadata`` once per process and connection.

    Raises:
        ConfigurationError: the web service is not published (not in ``$metadata``).
    """
    if api != WEB_SERVICE:
        return mirror_for(entity_set, api)
    cache_key = (bc.connection.pk, entity_set)
    if cache_key not in _web_service_keys:
        metadata = fetch_metadata(bc.client, f"{bc.urls.odata_root}/$metadata")
        for name, published in metadata.entity_sets.items():
            _web_service_keys[(bc.connection.pk, name)] = tuple(published.key)
        if cache_key not in _web_service_keys:
            raise ConfigurationError(f"{entity_set!r} is not a web service published by {bc.connection.name!r}")
    return web_service_mirror(entity_set, _web_service_keys[cache_key])


def _count(bc: BC, url: str, query: Query) -> int | None:
    """BC's ``/$count`` for progress bars; ``None`` when BC will not say."""
    params = {k: v for k, v in query.params().items() if k == "$filter"}
    try:
        return int(bc.client.request("GET", f"{url}/$count", params=params).text)
    except Exception:  # a progress total is a nicety, never a reason to fail the sync
        logger.debug("no $count for %s", url, exc_info=True)
        return None


def _finish(run: SyncRun, status: str, error: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


def _add(run: SyncRun, result: PageResult) -> None:
    run.fetched += result.fetched
    run.created += result.created
    run.updated += result.updated
    run.unchanged += result.unchanged
    run.deleted += result.deleted


def sync_entity_set(
    bc: BC,
    company: Company,
    entity_set: str,
    *,
    api: str = "",
    full: bool = False,
    children: list[str] | tuple[str, ...] | None = None,
    filter: str = "",
    page_size: int | None = None,
    progress: Progress | None = None,
    worker: str | None = None,
    streams: int | None = None,
) -> SyncRun:
    """Bring one entity set of one company up to date.

    Args:
        bc: The connection's facade.
        company: A company of ``bc.connection``.
        entity_set: BC's entity set name (any: unregistered sets use ``MirrorRecord``).
        api: ``""`` for API v2.0, ``publisher/group/version`` for a custom API.
        full: Ignore the watermark and list the whole set.
        children: Navigation names to ``$expand`` (default: the mirror's default children).
        filter: Extra ``$filter`` text and-ed to the sync's own.
        page_size: Records per page (default ``SYNC_PAGE_SIZE``).
        progress: Reporter (default: none).
        worker: Lock holder id (default: a new one).
        streams: Most parallel range streams for a large pull (default
            :data:`DEFAULT_STREAMS`; capped by ``RATE_LIMIT_CONCURRENCY``; 1 = one stream).
            A pull with fewer than :data:`PARTITION_MIN_PAGES` pages after its first stays
            one stream (see :mod:`bcbridge.sync.partition`).

    Returns:
        The :class:`~bcbridge.models.SyncRun`: ``succeeded``; ``skipped`` when another
        worker holds the set (``error`` says who and until when); ``failed`` with the error
        (BC's message, or the exception) when a page could not be read or written. Pages
        committed before a failure stay, with their watermark.
    """
    progress = progress or NullProgress()
    worker = worker or _state.worker_id()
    state = _state.state_for(company, entity_set, api)
    try:
        mirror = resolve_mirror(bc, entity_set, api)
    except BCBridgeError as exc:
        run = SyncRun(connection_id=company.connection_id, company=company, api=api, entity_set=entity_set)
        run.kind = SyncRun.Kind.FULL
        return _finish(run, SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}")
    expand = tuple(mirror.default_children if children is None else children)
    modified = mirror.modified_field
    incremental = bool(not full and modified and state.watermark)
    run = SyncRun.objects.create(
        connection_id=company.connection_id,
        company=company,
        api=api,
        entity_set=entity_set,
        worker=worker,
        kind=SyncRun.Kind.INCREMENTAL if incremental else SyncRun.Kind.FULL,
        watermark_from=state.watermark,
    )
    if not _state.acquire(state, worker):
        until = f"{state.locked_until:%H:%M:%S}" if state.locked_until else "?"
        return _finish(run, SyncRun.Status.SKIPPED, f"locked by {state.locked_by} until {until} UTC")
    try:
        budget = max(1, min(streams or DEFAULT_STREAMS, get_settings().RATE_LIMIT_CONCURRENCY))
        _pull(bc, company, mirror, state, run, expand, filter, page_size, progress, worker, incremental, budget)
    except _state.LockLost as exc:  # another worker (or `bcbridge unlock`) took the set
        _finish(run, SyncRun.Status.ABANDONED, f"abandoned: {exc}")
    except Exception as exc:
        logger.warning("sync of %s of %s failed: %s", entity_set, company, exc, exc_info=True)
        _state.release(state, worker, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        _finish(run, SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}")
    except BaseException:
        _state.release(state, worker)
        _finish(run, SyncRun.Status.FAILED, "interrupted")
        raise
    else:
        changes: dict[str, Any] = {"last_success_at": run.finished_at or timezone.now(), "last_error": ""}
        if run.kind == SyncRun.Kind.FULL and not filter:
            changes["last_full_sync_at"] = run.started_at
        _state.release(state, worker, **changes)
        _finish(run, SyncRun.Status.SUCCEEDED)
    run.watermark_to = state.watermark
    run.save(update_fields=["watermark_to"])
    progress.finished(run)
    sync_finished.send(sender=mirror.model, entity_set=entity_set, company=company, run=run)
    return run


def _pull(
    bc: BC,
    company: Company,
    mirror: Mirror,
    state: SyncState,
    run: SyncRun,
    expand: tuple[str, ...],
    filter: str,
    page_size: int | None,
    progress: Progress,
    worker: str,
    incremental: bool,
    streams: int = 1,
) -> None:
    settings = get_settings()
    modified = mirror.modified_field
    query = Query()
    if filter:
        query = query.filter(filter)
    if incremental and modified and state.watermark:
        since = state.watermark - timedelta(seconds=settings.SYNC_OVERLAP)
        query = query.filter(F(modified) > since)
    if modified:
        query = query.orderby(modified)
    if expand:
        query = query.expand(*expand)
    url = _set_url(bc, company, mirror)
    size = page_size or settings.SYNC_PAGE_SIZE
    progress.started(run, _count(bc, url, query) if progress.wants_total else None)
    parallel = streams > 1 and bool(modified) and mirror.api != WEB_SERVICE and prefetch_possible()
    source = iter_pages(bc.client, url, query, size)
    if parallel and modified:
        # the first page alone (no page 2 prefetched yet): it tells whether the pull is large
        first = next(source, None)
        if first is None:
            return _listed(mirror, company, run, filter)
        _store(mirror, company, state, run, worker, first, expand, progress)
        plan = None
        if first.get("@odata.nextLink"):
            plan = _parallel.plan_rest(
                bc.client, url, query, modified, state.watermark, first, size, streams, expand, PARTITION_MIN_PAGES
            )
        if plan is not None:
            source.close()

            def store(page: dict[str, Any], watermark_of: Any = None) -> PageResult:
                return _store(mirror, company, state, run, worker, page, expand, progress, watermark_of)

            def renew(watermark: datetime) -> None:
                if state.watermark is None or watermark > state.watermark:
                    _state.renew(state, worker, watermark=watermark)

            logger.info("%s: %d ranges, %d streams", mirror.entity_set, len(plan[1]), streams)
            _parallel.pull_ranges(bc.client, url, plan, modified, state.watermark, streams, store, renew)
            if state.watermark is not None:
                since = state.watermark - timedelta(seconds=settings.SYNC_OVERLAP)
                _parallel.catch_up(bc.client, url, query, modified, since, size, store)
            return _listed(mirror, company, run, filter)
    pages = prefetched(source, prefetch_possible())
    try:
        for page in pages:
            _store(mirror, company, state, run, worker, page, expand, progress)
    finally:
        pages.close()
    return _listed(mirror, company, run, filter)


def _listed(mirror: Mirror, company: Company, run: SyncRun, filter: str) -> None:
    """After the pull: a full listing soft-deletes the rows BC did not list."""
    if run.kind == SyncRun.Kind.FULL and not filter:
        # a complete listing: rows BC did not list (not stamped since the run began) are gone
        with transaction.atomic():
            gone = list(
                mirror.model.objects.filter(**mirror.scope(company))  # type: ignore[attr-defined]
                .filter(Q(seen_at__lt=run.started_at) | Q(seen_at__isnull=True))
                .values_list("pk", flat=True)
            )
            run.deleted += soft_delete(mirror, company, gone, timezone.now())


def _store(
    mirror: Mirror,
    company: Company,
    state: SyncState,
    run: SyncRun,
    worker: str,
    page: dict[str, Any],
    expand: tuple[str, ...],
    progress: Progress,
    watermark_of: Callable[[PageResult], datetime | None] | None = None,
) -> PageResult:
    """Write one page, its counts and the new watermark in one transaction.

    ``watermark_of(result)`` gives the watermark after this page (the partitioned pull's
    rule); by default it is the greatest ``lastModifiedDateTime`` stored so far, which is
    right for pages read in that order by one stream. The watermark never moves backwards.
    """
    records = page.get("value") or []
    now = timezone.now()
    with transaction.atomic():
        # the page's created/updated/deleted records are known here, inside the transaction
        # the mirror change commits in (hook point for rows written with the change)
        result = write_page(mirror, company, records, now=now, children=expand)
        watermark = state.watermark
        candidate = watermark_of(result) if watermark_of is not None else result.max_modified
        if candidate is not None and (watermark is None or candidate > watermark):
            watermark = candidate
        # the per-page lease renewal: the lock holder proves it is alive with every page
        _state.renew(state, worker, watermark=watermark)
        run.pages += 1
        _add(run, result)
        SyncRun.objects.filter(pk=run.pk).update(
            pages=run.pages,
            fetched=run.fetched,
            created=run.created,
            updated=run.updated,
            unchanged=run.unchanged,
            deleted=run.deleted,
        )
    progress.page(run, len(records))
    return result


# -- orchestration ------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What :func:`sync` did: the runs, and notes for companies or connections it skipped."""

    runs: list[SyncRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(run.status != SyncRun.Status.FAILED for run in self.runs)

    @property
    def skipped(self) -> list[SyncRun]:
        """Runs that did not sync their set because another worker held it (``error`` says
        who and until when)."""
        return [run for run in self.runs if run.status == SyncRun.Status.SKIPPED]

    @property
    def complete(self) -> bool:
        """Every set synced: nothing failed, was skipped or abandoned."""
        return all(run.status == SyncRun.Status.SUCCEEDED for run in self.runs)

    def problem(self) -> str:
        """One line for a non-zero exit: which sets failed or were skipped, and by whom."""
        parts = [f"{len([r for r in self.runs if r.status == SyncRun.Status.FAILED])} failed"] if not self.ok else []
        parts += [f"{run.entity_set} skipped ({run.error})" for run in self.skipped]
        parts += [f"{run.entity_set} {run.error}" for run in self.runs if run.status == SyncRun.Status.ABANDONED]
        return "; ".join(parts)


def ensure_default_configs(connection: Connection) -> list[SyncConfig]:
    """Give a connection without any sync configuration the defaults for the core sets
    (:data:`~bcbridge.sync.registry.DEFAULT_SETS`: items with variants, customers, vendors,
    locations, sales orders/invoices/shipments and purchase invoices with lines, G/L
    entries); returns the rows created."""
    if connection.sync_configs.exists():
        return []
    configs = [
        SyncConfig(connection=connection, entity_set=name, children=",".join(kids), poll_interval=interval)
        for name, (kids, interval) in DEFAULT_SETS.items()
    ]
    return SyncConfig.objects.bulk_create(configs)


def companies_to_sync(connection: Connection) -> tuple[list[Company], str]:
    """The selected, present companies of ``connection``, and a note when there are none."""
    present = list(connection.companies.filter(present=True))
    selected = [c for c in present if c.selected]
    if not present:
        return [], f"{connection.name}: no companies loaded; run `bcbridge connect {connection.name}` first"
    if not selected:
        return [], (
            f"{connection.name}: {len(present)} companies but none selected, so nothing is synced; "
            "select companies in the admin or with `bcbridge connect --company ID`"
        )
    return selected, ""


def configs_for(company: Company, entity_sets: list[str] | None = None) -> list[SyncConfig]:
    """The effective configuration of each entity set for ``company`` (a company's own row
    overrides the connection-wide one). Named ``entity_sets`` without a row get an unsaved
    default; without names, only enabled rows are returned."""
    rows = SyncConfig.objects.filter(connection_id=company.connection_id).filter(
        Q(company__isnull=True) | Q(company=company)
    )
    chosen: dict[tuple[str, str], SyncConfig] = {}
    for row in sorted(rows, key=lambda c: c.company_id is not None):
        chosen[(row.api, row.entity_set)] = row
    if not entity_sets:
        return [c for c in chosen.values() if c.enabled]
    result = []
    for name in entity_sets:
        config: SyncConfig | None = next((c for (_, s), c in chosen.items() if s == name), None)
        if config is None:
            kids = DEFAULT_SETS.get(name, (mirror_for(name).default_children, 300))[0]
            config = SyncConfig(connection_id=company.connection_id, entity_set=name, children=",".join(kids))
        result.append(config)
    return result


def each_config(
    report: SyncReport, connection: Connection | None, entity_sets: list[str] | None
) -> Iterator[tuple[BC, Company, SyncConfig]]:
    """``(bc, company, config)`` for every configured (or named) set of every selected company
    of each enabled connection (or of ``connection``); one facade per connection. A
    connection with nothing to sync adds a note to ``report`` instead."""
    connections = [connection] if connection else list(Connection.objects.filter(enabled=True))
    for conn in connections:
        companies, note = companies_to_sync(conn)
        if note:
            report.notes.append(note)
            continue
        ensure_default_configs(conn)
        with BC(conn) as bc:
            for company in companies:
                for config in configs_for(company, entity_sets):
                    yield bc, company, config


def sync(
    connection: Connection | None = None,
    entity_sets: list[str] | None = None,
    *,
    full: bool = False,
    progress: Progress | None = None,
    streams: int | None = None,
) -> SyncReport:
    """Sync the configured (or named) entity sets of the selected companies of each enabled
    connection (or of ``connection``); the ``bcbridge sync`` command. ``streams``: see
    :func:`sync_entity_set`.

    Returns:
        A :class:`SyncReport`; failures are in its runs, not raised.
    """
    report = SyncReport()
    for bc, company, config in each_config(report, connection, entity_sets):
        report.runs.append(
            sync_entity_set(
                bc,
                company,
                config.entity_set,
                api=config.api,
                full=full,
                children=config.child_sets,
                filter=config.filter,
                page_size=config.page_size,
                progress=progress,
                streams=streams,
            )
        )
    return report


def sync_due(now: datetime | None = None, *, worker: str | None = None) -> list[SyncRun]:
    """Run every poll that is due (the runner's ``sync`` job; also callable from Celery beat).

    A set is due when its configuration is enabled, its mode polls (``poll`` or ``both``)
    and ``poll_interval`` seconds have passed since its last attempt.
    """
    now = now or timezone.now()
    runs: list[SyncRun] = []
    for conn in Connection.objects.filter(enabled=True):
        companies, _ = companies_to_sync(conn)
        if not companies:
            continue
        ensure_default_configs(conn)
        bc: BC | None = None
        try:
            for company in companies:
                for config in configs_for(company):
                    if config.mode not in (SyncMode.POLL, SyncMode.BOTH):
                        continue
                    state = SyncState.objects.filter(
                        company=company, api=config.api, entity_set=config.entity_set
                    ).first()
                    last = state.last_attempt_at if state else None
                    if last is not None and last + timedelta(seconds=config.poll_interval) > now:
                        continue
                    bc = bc or BC(conn)
                    runs.append(
                        sync_entity_set(
                            bc,
                            company,
                            config.entity_set,
                            api=config.api,
                            children=config.child_sets,
                            filter=config.filter,
                            page_size=config.page_size,
                            worker=worker,
                        )
                    )
        finally:
            if bc is not None:
                bc.close()
    return runs
