"""Writing to the outbox: ``enqueue(...)`` inside the caller's transaction, and the admin's
"retry now" and "cancel".

The message is a row in the caller's database transaction, so it exists exactly when the
caller's own change commits (the transactional outbox); nothing here talks to BC. The
dispatcher (:func:`bcbridge.push.dispatch_due`) sends it later::

    with transaction.atomic():
        order = ShopOrder.objects.create(...)
        push.enqueue(connection, company_id, "create", entity_set="salesOrders", payload=body,
                     lookup={"externalDocumentNumber": order.reference}, dedupe_key=f"order:{order.pk}")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from bcbridge.exceptions import ConfigurationError
from bcbridge.models import Company, Connection, OutboxMessage, OutboxOperation, OutboxStatus

__all__ = ["cancel", "company_id_of", "enqueue", "enqueue_call", "outbox_counts", "retry_now"]

_NEEDS_KEY = {OutboxOperation.UPDATE, OutboxOperation.DELETE, OutboxOperation.ACTION}


def company_id_of(connection: Connection, company: str | uuid.UUID | Company | None) -> str:
    """The systemId of ``company`` (a Company, an id, a name, or ``None`` for the default).

    Raises:
        ConfigurationError: Unknown name, or no default company (several and none selected).
    """
    if isinstance(company, Company):
        return str(company.bc_id)
    if company is not None:
        text = str(company)
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
        for row in connection.companies.filter(present=True):
            if text.lower() in {row.name.lower(), row.display_name.lower()}:
                return str(row.bc_id)
        raise ConfigurationError(f"No company {text!r} on connection {connection.name!r}; load companies first.")
    rows = list(connection.companies.filter(present=True))
    selected = [row for row in rows if row.selected]
    chosen = selected if len(selected) == 1 else rows if len(rows) == 1 else []
    if not chosen:
        raise ConfigurationError(
            f"Connection {connection.name!r} has {len(rows)} companies and {len(selected)} selected: pass the company."
        )
    return str(chosen[0].bc_id)


def enqueue(
    connection: Connection,
    company: str | uuid.UUID | Company | None,
    operation: str,
    *,
    entity_set: str = "",
    key: str | uuid.UUID = "",
    action: str = "",
    payload: Mapping[str, Any] | None = None,
    etag: str = "",
    original: Mapping[str, Any] | None = None,
    conflict_policy: str = "merge",
    lookup: Mapping[str, Any] | None = None,
    atomic: bool = False,
    api: Mapping[str, str] | None = None,
    dedupe_key: str | None = None,
    not_before: Any = None,
) -> OutboxMessage:
    """Store one write for BC in the current transaction and return the message.

    Args:
        connection: Where it goes.
        company: Company (id, name, row) or ``None`` for the connection's default.
        operation: An :class:`~bcbridge.models.OutboxOperation` value: ``create``,
            ``update``, ``delete``, ``action``, ``call``, ``sales_order``, ``batch``.
        entity_set: BC entity set (create, update, delete, action).
        key: BC id of the record (update, delete, action).
        action: Bound action (``shipAndInvoice``) or, for ``call``, the endpoint code.
        payload: Body (create), changes (update), endpoint payload (call), source order
            (sales_order), ``{"operations": [...]}`` (batch).
        etag: ``If-Match`` for update/delete (empty: the dispatcher reads it first).
        original: Update with the ``merge`` policy: the values we last saw of the fields
            we change.
        conflict_policy: ``merge``, ``reapply`` or ``park`` (what a 409 does).
        lookup: Fields that find an earlier attempt of a create in BC when its outcome is
            unknown, e.g. ``{"externalDocumentNumber": "WEB-1001"}``. A create without one
            is parked instead of re-sent when its outcome is unknown.
        atomic: Batch: all operations in one BC transaction.
        api: Custom API route ``{"publisher", "group", "version"}``.
        dedupe_key: Caller's idempotency key: a second enqueue with the same key returns
            the first message instead of adding one.
        not_before: Earliest send time (aware datetime).

    Raises:
        ConfigurationError: A missing argument the operation needs, or an unknown company.
    """
    operation = OutboxOperation(operation)
    if operation in _NEEDS_KEY and not key:
        raise ConfigurationError(f"An outbox {operation.value} needs the record's key.")
    if (
        operation in {OutboxOperation.CREATE, OutboxOperation.UPDATE, OutboxOperation.DELETE, OutboxOperation.ACTION}
        and not entity_set
    ):
        raise ConfigurationError(f"An outbox {operation.value} needs entity_set.")
    if operation in {OutboxOperation.ACTION, OutboxOperation.CALL} and not action:
        raise ConfigurationError(f"An outbox {operation.value} needs action (the action name or endpoint code).")
    fields = {
        "connection": connection,
        "company_id": company_id_of(connection, company),
        "operation": operation.value,
        "entity_set": entity_set,
        "key": str(key),
        "action": action,
        "payload": dict(payload or {}),
        "etag": etag or "",
        "original": dict(original or {}),
        "conflict_policy": conflict_policy,
        "lookup": dict(lookup or {}),
        "atomic": atomic,
        "api": dict(api or {}),
        "dedupe_key": dedupe_key,
        "next_attempt_at": not_before or timezone.now(),
    }
    if dedupe_key is None:
        return OutboxMessage.objects.create(**fields)
    existing = OutboxMessage.objects.filter(connection=connection, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():  # a savepoint, so a lost race does not spoil the caller's transaction
            return OutboxMessage.objects.create(**fields)
    except IntegrityError:
        return OutboxMessage.objects.get(connection=connection, dedupe_key=dedupe_key)


def enqueue_call(
    connection: Connection,
    company: str | uuid.UUID | Company | None,
    code: str,
    body: Any = None,
    *,
    etag: str = "",
    dedupe_key: str | None = None,
    **values: Any,
) -> OutboxMessage:
    """Queue a call of the registry endpoint ``code`` (``bc.call(code, body, **values)``).

    A POST endpoint whose earlier outcome is unknown is sent again; when BC then answers
    404 (the record is gone, as after a posted shipment) the message counts as sent.
    """
    return enqueue(
        connection,
        company,
        "call",
        action=code,
        payload={"body": body, "values": values},
        etag=etag,
        dedupe_key=dedupe_key,
    )


def retry_now(messages: Iterable[OutboxMessage] | Any, *, forget_unknown: bool = False) -> int:
    """Make parked or pending messages due now; returns how many changed.

    Args:
        messages: Messages or a queryset.
        forget_unknown: Also clear "outcome unknown" (a person checked BC and the earlier
            attempt is not there), so a create without a lookup is sent again.
    """
    ids = [m.pk for m in messages]
    changes: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "next_attempt_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if forget_unknown:
        changes["outcome_unknown"] = False
    return OutboxMessage.objects.filter(pk__in=ids, status__in=[OutboxStatus.PARKED, OutboxStatus.PENDING]).update(
        **changes
    )


def cancel(messages: Iterable[OutboxMessage] | Any) -> int:
    """Cancel messages that are not sent or in flight; returns how many."""
    ids = [m.pk for m in messages]
    return OutboxMessage.objects.filter(pk__in=ids, status__in=[OutboxStatus.PENDING, OutboxStatus.PARKED]).update(
        status=OutboxStatus.CANCELLED, updated_at=timezone.now()
    )


def outbox_counts(connection: Connection | None = None) -> dict[str, int]:
    """Messages per status (every status present, zero when none)."""
    query = OutboxMessage.objects.all()
    if connection is not None:
        query = query.filter(connection=connection)
    counts = {status.value: 0 for status in OutboxStatus}
    for row in query.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
