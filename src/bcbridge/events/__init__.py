"""Events out: changes of the mirror and outcomes of the outbox, for other apps.

The sync engine calls :func:`record_changes` with a page's changes inside the page's
transaction, and the outbox dispatcher calls :func:`record_outbox_outcome` inside the
transaction that marks a message sent or parked; both write :class:`~bcbridge.models.Event`
rows and one :class:`~bcbridge.models.EventDelivery` per matching enabled
:class:`~bcbridge.models.EventSubscription`, so an event exists exactly when its change
committed (the events' own outbox). :func:`bcbridge.events.delivery.deliver_due` (the
``event-deliveries`` job) sends them.

Event types: ``<entity>.created`` and ``<entity>.updated`` for every mirrored header set
(``item``, ``customer``, ``salesInvoice``, ``salesShipment``..., BC's entity names), with
lines and variants inside their header's record; ``record.deleted`` when BC no longer has a
record; ``order.sent`` and ``order.parked`` for outbox messages. Nothing is written while no
subscription wants the type, so a full load without subscribers costs nothing extra.

Body of every event (the Standard Webhooks payload shape)::

    {"type": "item.updated", "timestamp": "2026-01-01T00:00:00Z",
     "data": {"entitySet": "items", "connection": "contoso", "company": "<company id>",
              "record": {... as GET /bcbridge/api/v1/items/{id} returns it ...}}}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import models

from bcbridge.events.records import datetime_text, generic_record, instance_record, plan, rows_to_records
from bcbridge.models import (
    Company,
    Event,
    EventDelivery,
    EventSubscription,
    MirroredModel,
    MirrorRecord,
    OutboxMessage,
    OutboxStatus,
)
from bcbridge.signals import record_created, record_deleted

__all__ = [
    "children_of",
    "event_type",
    "outbox_status",
    "record_changes",
    "record_data",
    "record_outbox_outcome",
    "wants_events",
]


def wants_events(company: Company) -> bool:
    """Whether any enabled subscription may want events of ``company`` (one query)."""
    return (
        EventSubscription.objects.filter(enabled=True)
        .filter(models.Q(company__isnull=True) | models.Q(company=company))
        .exists()
    )


def children_of(model: type[models.Model]) -> list[tuple[str, type[models.Model]]]:
    """``(accessor, child model)`` of a typed header: ``("variants", ItemVariant)``,
    ``("lines", SalesInvoiceLine)``."""
    found: list[tuple[str, type[models.Model]]] = []
    for relation in model._meta.related_objects:
        child = relation.related_model
        if relation.field.name == "parent" and isinstance(child, type) and issubclass(child, MirroredModel):
            found.append((relation.get_accessor_name() or relation.name, child))
    return found


def _is_child(instance: models.Model) -> bool:
    return getattr(instance, "parent_id", None) is not None


def event_type(entity_set: str, instance: models.Model, created: bool) -> str:
    """``item.created``, ``salesInvoice.updated``...: BC's entity name of the set."""
    if isinstance(instance, MirrorRecord):
        from bcbridge.entities.catalog import catalog

        spec = catalog().get(entity_set) if not instance.api else None
        entity = spec.entity if spec is not None else entity_set
    else:
        entity = type(instance).bc_entity()  # type: ignore[attr-defined]
    return f"{entity}.{'created' if created else 'updated'}"


def record_data(instances: list[models.Model]) -> list[dict[str, Any]]:
    """The API's JSON of ``instances`` (one model), each typed header with its children."""
    if not instances:
        return []
    model = type(instances[0])
    if model is MirrorRecord:
        return [generic_record(i) for i in instances]  # type: ignore[arg-type]
    records = [instance_record(i) for i in instances]
    for accessor, child in children_of(model):
        fields = plan(child).fields
        by_parent: dict[Any, list[Any]] = defaultdict(list)
        rows = (
            child.objects.filter(parent_id__in=[i.pk for i in instances])  # type: ignore[attr-defined]
            .order_by("pk")
            .values_list("parent_id", *[f.attname for f in fields])
        )
        for row in rows:
            by_parent[row[0]].append(row[1:])
        for instance, record in zip(instances, records, strict=True):
            record[accessor] = rows_to_records(fields, by_parent.get(instance.pk, []))
    return records


def record_changes(changes: Iterable[tuple[Any, Any, Company, models.Model, dict[str, Any]]]) -> int:
    """Write the events of one page of mirror changes; call inside the page's transaction.

    Args:
        changes: ``(signal, mirror, company, instance, raw)`` as the sync engine announces
            them (``record_created``/``record_updated``/``record_deleted``). Children
            (lines, variants) are left out: their header's event carries them.

    Returns:
        How many events were written.
    """
    changes = [c for c in changes if not _is_child(c[3])]
    if not changes:
        return 0
    subscriptions = list(EventSubscription.objects.filter(enabled=True))
    if not subscriptions:
        return 0
    planned: list[tuple[str, Any, Company, models.Model, list[EventSubscription]]] = []
    for signal, mirror, company, instance, _raw in changes:
        kind = (
            "record.deleted"
            if signal is record_deleted
            else event_type(mirror.entity_set, instance, signal is record_created)
        )
        targets = [s for s in subscriptions if s.wants(kind, company.pk)]
        if targets:
            planned.append((kind, mirror, company, instance, targets))
    if not planned:
        return 0
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for _, _, _, instance, _ in planned:
        by_model[type(instance)].append(instance)
    data: dict[int, dict[str, Any]] = {}
    for instances in by_model.values():
        for instance, record in zip(instances, record_data(instances), strict=True):
            data[id(instance)] = record
    events = []
    for kind, mirror, company, instance, _ in planned:
        key = instance.key if isinstance(instance, MirrorRecord) else instance.bc_id  # type: ignore[attr-defined]
        events.append(
            Event(
                type=kind,
                connection_id=company.connection_id,
                company=company,
                entity_set=mirror.entity_set,
                subject=f"{mirror.api + '/' if mirror.api else ''}{mirror.entity_set}/{company.bc_id}/{key}"[:300],
                data={
                    "entitySet": mirror.entity_set,
                    "connection": company.connection.name,
                    "company": str(company.bc_id),
                    "record": data[id(instance)],
                },
            )
        )
    _save(events, [targets for *_, targets in planned])
    return len(events)


def _save(events: list[Event], targets: list[list[EventSubscription]]) -> None:
    # PostgreSQL and SQLite >= 3.35 return the new primary keys (RETURNING)
    created = Event.objects.bulk_create(events)
    EventDelivery.objects.bulk_create(
        [
            EventDelivery(
                event=event, subscription=subscription, subject=event.subject, next_attempt_at=event.created_at
            )
            for event, subs in zip(created, targets, strict=True)
            for subscription in subs
        ]
    )


def outbox_status(message: OutboxMessage) -> dict[str, Any]:
    """An outbox message as ``GET /bcbridge/api/v1/outbox/{id}`` returns it."""
    status = {
        "id": message.pk,
        "status": message.status,
        "operation": message.operation,
        "entitySet": message.entity_set,
        "company": message.company_id,
        "attempts": message.attempts,
        "nextAttemptAt": _iso(message.next_attempt_at) if message.is_open else None,
        "createdAt": _iso(message.created_at),
        "sentAt": _iso(message.sent_at),
        "bcId": message.bc_id or None,
        "bcNumber": message.bc_number or None,
        "bcEtag": message.bc_etag or None,
        "externalDocumentNumber": (message.lookup or {}).get("externalDocumentNumber"),
        "error": None,
    }
    if message.status in (OutboxStatus.PARKED, OutboxStatus.PENDING) and message.last_error:
        status["error"] = {
            "message": message.last_error,
            "code": message.last_error_code or None,
            "status": message.last_status,
        }
    return status


def _iso(value: Any) -> str | None:
    return datetime_text(value)


def record_outbox_outcome(message: OutboxMessage, outcome: str) -> int:
    """Write ``order.sent``/``order.parked`` (sales orders) or ``outbox.sent``/``outbox.parked``
    (other writes) for ``message``; call in the transaction that records the outcome.

    Args:
        message: The message, with its new status and BC's id/number/ETag or error.
        outcome: ``"sent"`` or ``"parked"``.

    Returns:
        How many events were written (0 or 1).
    """
    kind = f"{'order' if message.operation == 'sales_order' else 'outbox'}.{outcome}"
    message = OutboxMessage.objects.select_related("connection").get(pk=message.pk)  # as just recorded
    company = Company.objects.filter(connection_id=message.connection_id, bc_id=message.company_id).first()
    targets = [
        s
        for s in EventSubscription.objects.filter(enabled=True)
        if s.wants(kind, company.pk if company is not None else None)
    ]
    if not targets:
        return 0
    event = Event(
        type=kind,
        connection_id=message.connection_id,
        company=company,
        entity_set=message.entity_set,
        subject=f"outbox/{message.pk}",
        data={"connection": message.connection.name, "company": message.company_id, "outbox": outbox_status(message)},
    )
    _save([event], [targets])
    return 1
