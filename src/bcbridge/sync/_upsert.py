"""Write one page of BC records (and their expanded children) into the mirror.

Call :func:`write_page` inside ``transaction.atomic()``; it registers the signals to send
with ``transaction.on_commit``, so nothing is announced for a page that rolled back.

Rules, per record:

* not in the mirror -> inserted (``record_created``);
* in the mirror with another ``@odata.etag``, or soft-deleted -> overwritten
  (``record_updated``), unless the stored ``lastModifiedDateTime`` is newer than the
  incoming one: late data never wins;
* otherwise unchanged: only ``seen_at`` is stamped.

Inserts and overwrites go through one ``INSERT ... ON CONFLICT DO UPDATE`` per page and
model (what ``bulk_create(update_conflicts=True)`` sends, see :mod:`._sql`), so replaying a
page is harmless. Children of each parent in the page are replaced as a whole: child rows BC no
longer lists under that parent are soft-deleted (``record_deleted``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.dispatch import Signal

from bcbridge.events import record_changes, wants_events
from bcbridge.models import Company
from bcbridge.signals import record_created, record_deleted, record_updated
from bcbridge.sync._sql import aware, select_by_keys, upsert_rows
from bcbridge.sync.registry import Mirror, mirror_for, parse_datetime, typed_instance

__all__ = ["PageResult", "soft_delete", "write_page"]

#: Keys per ``IN (...)`` lookup: well under SQLite's 32,766 variables and PostgreSQL's 65,535.
_CHUNK = 5000

_Event = tuple[Signal, Mirror, Company, models.Model, dict[str, Any]]


@dataclass
class PageResult:
    """Counts of one page (children included) and the greatest header timestamp seen."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    max_modified: datetime | None = None
    events: list[_Event] = field(default_factory=list, repr=False)
    #: Keys of the rows this page inserted (they have no stored children to compare).
    new_keys: set[Any] = field(default_factory=set, repr=False)

    def add(self, other: PageResult) -> None:
        self.fetched += other.fetched
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.events.extend(other.events)


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@functools.cache
def _template(model: type[models.Model]) -> dict[str, Any]:
    """Every concrete column (attname) but the primary key, with its default."""
    return {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}


def _without(record: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """``record`` minus ``names`` (a C-level copy, then pops: cheaper than a comprehension)."""
    raw = dict(record)
    for name in names:
        raw.pop(name, None)
    return raw


def _scope_columns(mirror: Mirror, company: Company) -> dict[str, Any]:
    scope: dict[str, Any] = {"company_id": company.pk}
    if mirror.generic:
        scope.update(api=mirror.api, entity_set=mirror.entity_set)
    return scope


def _existing(
    mirror: Mirror, company: Company, keys: list[Any], typed: bool = True
) -> dict[Any, tuple[Any, str, Any, bool]]:
    """key -> (pk, etag, lastModifiedDateTime, deleted) of the rows already mirrored
    (``typed=False``: the timestamp as the driver gives it, see :func:`._sql.aware`)."""
    found: dict[Any, tuple[Any, str, Any, bool]] = {}
    if not keys:
        return found
    # raw SQL (one array parameter on PostgreSQL): the ORM's lookup preparation and
    # converters cost more than the query on a page of thousands of keys
    for pk, key, etag, modified, deleted in select_by_keys(
        mirror.model, _scope_columns(mirror, company), mirror.key_attr, keys
    ):
        found[key] = (pk, etag, aware(modified) if typed else modified, deleted)
    return found


def _upsert(
    mirror: Mirror,
    company: Company,
    rows: list[tuple[Any, dict[str, Any], Any]],
    now: datetime,
    skip: Iterable[str] = (),
) -> tuple[PageResult, dict[Any, Any]]:
    """Upsert ``rows`` = ``[(key, record, parent_pk or None)]``; returns counts and key -> pk
    (new rows' pks only when children (``skip``) or signal receivers need them)."""
    result = PageResult(fetched=len(rows))
    existing = _existing(mirror, company, [key for key, _, _ in rows], typed=False)
    skip = frozenset(skip)
    to_write: list[dict[str, Any]] = []
    kinds: list[Signal] = []
    unchanged: list[Any] = []
    pks: dict[Any, Any] = {}
    template = _template(mirror.model)
    for key, record, parent_pk in rows:
        etag = str(record.get("@odata.etag") or "")
        modified = parse_datetime(record.get(mirror.modified_field)) if mirror.modified_field else None
        if modified is not None and (result.max_modified is None or modified > result.max_modified):
            result.max_modified = modified
        old = existing.get(key)
        if old is not None:
            pks[key] = old[0]
            late = modified is not None and old[2] is not None and modified < aware(old[2])
            if late or (old[1] == etag and not old[3]):
                unchanged.append(old[0])
                continue
        values = dict(template)
        values.update(
            connection_id=company.connection_id,
            company_id=company.pk,
            etag=etag,
            last_modified_date_time=modified,
            raw=_without(record, skip) if skip else record,
            first_synced_at=now,
            synced_at=now,
            seen_at=now,
        )
        values[mirror.key_attr] = key
        if mirror.generic:
            values.update(api=mirror.api, entity_set=mirror.entity_set)
        if parent_pk is not None:
            values["parent_id"] = parent_pk
        values.update(mirror.values(record))
        to_write.append(values)
        kinds.append(record_created if old is None else record_updated)
    if to_write:
        listened = {k for k in (record_created, record_updated) if k.has_listeners(mirror.model)}
        if wants_events(company):  # events hook (bcbridge.events): event rows need the instances
            listened = {record_created, record_updated}
        need_pks = bool(skip or listened)
        written = upsert_rows(
            mirror.model,
            to_write,
            mirror.unique_fields,
            keep=("first_synced_at",),
            returning=mirror.key_attr if need_pks else None,
        )
        if written is not None:
            pks.update((key, pk) for pk, key in written)
        elif need_pks:
            fresh = [row[mirror.key_attr] for row, kind in zip(to_write, kinds, strict=True) if kind is record_created]
            for key, found in _existing(mirror, company, fresh, typed=False).items():
                pks[key] = found[0]
        for row, kind in zip(to_write, kinds, strict=True):
            if kind is record_created:
                result.created += 1
            else:
                result.updated += 1
            if kind in listened:
                # instances are built only for receivers: the ORM's __init__ is a large share
                # of the cost of a page of wide rows
                values = {k: v for k, v in row.items() if k != "company_id"}
                instance = typed_instance(mirror.model, {"pk": pks[row[mirror.key_attr]], "company": company, **values})
                result.events.append((kind, mirror, company, instance, row["raw"]))
    for chunk in _chunks(unchanged):
        mirror.model.all_objects.filter(pk__in=chunk).update(seen_at=now)  # type: ignore[attr-defined]
    result.unchanged = len(unchanged)
    created = (row[mirror.key_attr] for row, kind in zip(to_write, kinds, strict=True) if kind is record_created)
    result.new_keys = set(created)
    return result, pks


def write_page(
    mirror: Mirror,
    company: Company,
    records: list[dict[str, Any]],
    *,
    now: datetime,
    children: Iterable[str] = (),
) -> PageResult:
    """Store one page of ``mirror``'s records and the children expanded in them.

    Args:
        mirror: The parent set's :class:`~bcbridge.sync.registry.Mirror`.
        company: The company the page belongs to.
        records: The page's ``value`` (entities as BC sent them).
        now: The write time, stamped as ``synced_at``/``seen_at``.
        children: Navigation names expanded in the request; a parent whose payload lacks
            one keeps its stored children of that kind.

    Returns:
        Counts; ``max_modified`` is the greatest parent ``lastModifiedDateTime``.

    Raises:
        ValueError: a record without its key; a typed parent with an untyped child set.
    """
    children = tuple(children)
    by_key: dict[Any, dict[str, Any]] = {}
    for record in records:
        by_key[mirror.key_of(record)] = record  # a key twice in a page: the last wins
    result, parent_pks = _upsert(mirror, company, [(k, r, None) for k, r in by_key.items()], now, skip=children)
    for navigation in children:
        child = mirror_for(mirror.children.get(navigation, navigation), mirror.api)
        if child.generic != mirror.generic:
            raise ValueError(
                f"{mirror.entity_set}: child {navigation!r} has no typed mirror; register one "
                f"(bcbridge.sync.registry.register) or mirror {mirror.entity_set} generically"
            )
        rows: list[tuple[Any, dict[str, Any], Any]] = []
        covered: list[Any] = []
        for key, record in by_key.items():
            if navigation not in record:
                continue
            if key not in result.new_keys:  # a parent inserted by this page has no old children
                covered.append(parent_pks[key])
            rows.extend((child.key_of(c), c, parent_pks[key]) for c in record[navigation] or ())
        child_result, _ = _upsert(child, company, rows, now)
        child_result.max_modified = None
        result.add(child_result)
        kept = {key for key, _, _ in rows}
        gone: list[Any] = []
        for chunk in _chunks(covered):
            live = child.model.objects.filter(parent_id__in=chunk)  # type: ignore[attr-defined]
            gone.extend(pk for pk, key in live.values_list("pk", child.key_attr) if key not in kept)
        result.deleted += soft_delete(child, company, gone, now, result.events)
    # headers are announced after their lines, so a receiver sees the whole document
    header_events = [e for e in result.events if e[1] is mirror]
    line_events = [e for e in result.events if e[1] is not mirror]
    result.events = []
    _announce(line_events + header_events)
    return result


def soft_delete(
    mirror: Mirror, company: Company, pks: list[Any], now: datetime, events: list[_Event] | None = None
) -> int:
    """Mark rows ``pks`` (and their children) deleted; returns how many rows changed.

    Their ``record_deleted`` signals are appended to ``events`` when given (the caller
    announces them), else registered with ``on_commit`` here.
    """
    own = events if events is not None else []
    count = 0
    for chunk in _chunks(pks):
        rows = list(mirror.model.all_objects.filter(pk__in=chunk, deleted=False))  # type: ignore[attr-defined]
        if not rows:
            continue
        mirror.model.all_objects.filter(pk__in=[r.pk for r in rows]).update(deleted=True, deleted_at=now)  # type: ignore[attr-defined]
        count += len(rows)
        for row in rows:
            row.deleted, row.deleted_at = True, now
            own.append((record_deleted, mirror, company, row, {}))
        for navigation in mirror.children:
            child = mirror_for(mirror.children[navigation], mirror.api)
            if child.generic != mirror.generic:
                continue
            child_pks = list(
                child.model.all_objects.filter(parent_id__in=[r.pk for r in rows], deleted=False).values_list(  # type: ignore[attr-defined]
                    "pk", flat=True
                )
            )
            count += soft_delete(child, company, child_pks, now, own)
    if events is None:
        _announce(own)
    return count


def _announce(events: list[_Event]) -> None:
    if not events:
        return
    record_changes(events)  # events hook (bcbridge.events): event rows in the page's transaction

    def send() -> None:
        for signal, mirror, company, instance, raw in events:
            signal.send(
                sender=type(instance), entity_set=mirror.entity_set, company=company, instance=instance, raw=raw
            )

    transaction.on_commit(send)
