"""Sync one record from BC now ("manual sync by external id" in iPaaS tools).

``bcbridge sync items --number 1000`` / ``--id GUID`` / ``--external-id X`` and the admin's
"Sync this record from BC" action call :func:`sync_record`. The record is read with the
entity set's default children expanded (``GET items({id})?$expand=itemVariants``, docs/bc/3-odata-queries.md
§3) and written with the engine's own page writer, so signals, ETags and children behave
exactly as in a full or incremental sync. A record BC no longer has (404 on the key) is
soft-deleted in the mirror, as reconciliation would (docs/bc/1-identity.md §1: an unknown key is 404
``BadRequest_NotFound``).

Nothing here moves the set's watermark: one record read out of order says nothing about the
records modified before it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from bcbridge.entities import BC, EntitySetClient
from bcbridge.exceptions import BCBridgeError, NotFound
from bcbridge.models import Company, ExternalIdMap
from bcbridge.odata import F
from bcbridge.sync._upsert import soft_delete, write_page
from bcbridge.sync.engine import api_kwargs
from bcbridge.sync.registry import Mirror, mirror_for

__all__ = ["RecordNotFound", "SingleSync", "number_field", "sync_record"]

#: The field BC users call a record's "No." (``number`` on most sets, ``code`` on
#: locations and variants, ``entryNumber`` on G/L entries; the fields of entities.json).
_NUMBER_FIELDS = ("number", "code", "entryNumber", "documentNumber")


class RecordNotFound(BCBridgeError):
    """Neither BC nor the mirror has a record with the key, number or external id given."""


@dataclass
class SingleSync:
    """What :func:`sync_record` did.

    Attributes:
        entity_set: The set synced.
        bc_id: BC's key of the record (``None`` when no record was found).
        label: Its number (or key) for messages.
        outcome: ``created``, ``updated``, ``unchanged`` or ``deleted`` (BC no longer has it).
        changed: Top-level BC field names whose values differ from the mirror's before.
        children: Child rows written (created + updated), e.g. item variants, lines.
    """

    entity_set: str
    bc_id: Any
    label: str
    outcome: str
    changed: list[str] = field(default_factory=list)
    children: int = 0

    def __str__(self) -> str:
        text = f"{self.entity_set} {self.label}: {self.outcome}"
        if self.changed:
            shown = ", ".join(self.changed[:12]) + (", ..." if len(self.changed) > 12 else "")
            text += f" ({len(self.changed)} fields changed: {shown})"
        if self.children:
            text += f"; {self.children} child records written"
        return text


def number_field(mirror: Mirror) -> str:
    """The payload field holding the record's number (``number``, ``code``, ...)."""
    from bcbridge.entities.catalog import catalog

    spec = catalog().get(mirror.entity_set)
    names = {f.name for f in spec.fields} if spec else {c.source for c in mirror.columns}
    for candidate in _NUMBER_FIELDS:
        if candidate in names:
            return candidate
    return "number"


def _client(bc: BC, company: Company, mirror: Mirror) -> EntitySetClient:
    return EntitySetClient(bc, str(company.bc_id), mirror.entity_set, **api_kwargs(mirror.api))


def _stored(mirror: Mirror, company: Company, key: Any) -> Any:
    rows = mirror.model.all_objects.filter(**mirror.scope(company), **{mirror.key_attr: key})  # type: ignore[attr-defined]
    return rows.first()


def _find_key(bc: BC, company: Company, mirror: Mirror, number: str | None, external_id: str | None) -> Any:
    if external_id:
        mapped = ExternalIdMap.objects.filter(
            connection_id=company.connection_id,
            company_id=str(company.bc_id),
            entity_set=mirror.entity_set,
            external_id=external_id,
        ).first()
        if mapped is not None:
            return mirror.parse_key(mapped.bc_id)
        if mirror.entity_set in ("salesOrders", "salesInvoices", "salesQuotes", "salesCreditMemos"):
            found = list(
                _client(bc, company, mirror).list(filter=F("externalDocumentNumber") == external_id, select=["id"])
            )
            if found:
                return mirror.parse_key(found[0]["id"])
        raise RecordNotFound(
            f"No {mirror.entity_set} record has the external id {external_id!r} in {company.name} "
            "(not in the external-id map, nor as externalDocumentNumber)."
        )
    name = number_field(mirror)
    value: Any = int(number) if name == "entryNumber" and str(number).isdigit() else number
    found = list(_client(bc, company, mirror).list(filter=F(name) == value, select=[mirror.key]))
    if not found:
        raise RecordNotFound(f"BC has no {mirror.entity_set} record with {name} {number!r} in {company.name}.")
    return mirror.parse_key(found[0][mirror.key])


def sync_record(
    bc: BC,
    company: Company,
    entity_set: str,
    *,
    bc_id: str | uuid.UUID | None = None,
    number: str | None = None,
    external_id: str | None = None,
) -> SingleSync:
    """Read one record of ``entity_set`` from BC and store it in the mirror.

    Exactly one of ``bc_id``, ``number`` or ``external_id`` names the record.

    Args:
        bc: The connection's facade.
        company: A company of ``bc.connection``.
        entity_set: A typed or generic API entity set (web services have no single-key URL
            here; sync them as a whole).
        bc_id: BC's ``id`` (systemId).
        number: The record's number (``number``/``code``/``entryNumber``).
        external_id: An id from the external-id map (or a document's
            ``externalDocumentNumber``).

    Returns:
        :class:`SingleSync` saying what changed.

    Raises:
        ValueError: not exactly one of the three was given, or ``bc_id`` is not a GUID.
        RecordNotFound: the number or external id matches no record in BC; or the id
            matches none in BC nor in the mirror.
        bcbridge.exceptions.BCBridgeError: BC or Entra refused (the message says why).
    """
    given = [value for value in (bc_id, number, external_id) if value]
    if len(given) != 1:
        raise ValueError("Name the record with exactly one of --id, --number or --external-id.")
    mirror = mirror_for(entity_set)
    if bc_id is not None:
        try:
            key = mirror.parse_key(uuid.UUID(str(bc_id)))
        except ValueError:
            raise ValueError(
                f"--id {bc_id!r} is not a GUID (BC's id looks like 5d115c9c-44e3-ea11-bb43-000d3a2feca1)."
            ) from None
    else:
        key = _find_key(bc, company, mirror, number, external_id)
    label = str(number or external_id or key)
    before = _stored(mirror, company, key)
    try:
        record = _client(bc, company, mirror).get(key, expand=list(mirror.default_children) or None)
    except NotFound:
        if before is None:
            raise RecordNotFound(f"Neither BC nor the mirror has {entity_set}({key}) in {company.name}.") from None
        with transaction.atomic():
            gone = soft_delete(mirror, company, [before.pk], timezone.now())
        return SingleSync(entity_set, key, label, "deleted" if gone else "unchanged")
    with transaction.atomic():
        result = write_page(mirror, company, [record], now=timezone.now(), children=mirror.default_children)
    old = getattr(before, "raw", None) or {}
    changed = (
        sorted(
            name
            for name, value in record.items()
            if not name.startswith("@") and name not in mirror.children and old.get(name) != value
        )
        if before is not None
        else []
    )
    if before is None:
        outcome = "created"
    elif getattr(before, "deleted", False) or result.updated or changed:
        outcome = "updated"
    else:
        outcome = "unchanged"
    parent_writes = 1 if outcome in ("created", "updated") else 0
    children = max(0, result.created + result.updated - parent_writes)
    return SingleSync(entity_set, key, str(record.get(number_field(mirror), label)), outcome, changed, children)
