"""From our data to BC's: field mappings per target and the external-id map.

Field mappings (:class:`~bcbridge.models.FieldMapping`, edited in the admin) turn a source
dict into the body of a BC entity: each row fills one BC field from a dotted source path
or a constant, optionally converted (decimal, date, upper-case code) and length-checked.
A target without rows passes the source through unchanged, so BC-shaped dicts need no
configuration. Custom fields of BC extensions (seed 004's ``CatItemGroup`` on the
``ItemCard`` page web service) are mapped the same way: the target is the web service.

External ids (:class:`~bcbridge.models.ExternalIdMap`) translate another system's id of a
customer or item into BC's systemId. Seed 004 uses BC's own ``number`` as the external
id, so an id missing from the map is looked up in BC by ``number`` and remembered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from bcbridge.entities.catalog import catalog
from bcbridge.exceptions import FatalError
from bcbridge.models import ExternalIdMap, FieldMapping
from bcbridge.odata import F

if TYPE_CHECKING:
    from bcbridge.entities import BC
    from bcbridge.models import Connection

__all__ = [
    "MappingError",
    "apply_mappings",
    "get_path",
    "mapping_rows",
    "remember_external_id",
    "resolve_external_id",
]

_MISSING = object()


class MappingError(FatalError):
    """A source value cannot become a BC field; says which field and why.

    Attributes:
        target: Entity set or web service (``salesOrders``).
        field: BC field (``requestedDeliveryDate``) or the external id that failed.
        reason: What is wrong, in words.
    """

    def __init__(self, target: str, field: str, reason: str) -> None:
        self.target = target
        self.field = field
        self.reason = reason
        super().__init__(f"mapping {target}.{field}: {reason}")


def get_path(source: Any, path: str) -> Any:
    """The value at dotted ``path`` (``customer.address.city``, ``lines.0.sku``); a private
    sentinel (not ``None``, which may be a real value) when any step is missing."""
    value = source
    for step in path.split("."):
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list | tuple) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _convert(row: FieldMapping, value: Any) -> Any:
    kind = row.transform
    try:
        if kind == "string":
            return str(value)
        if kind == "upper":
            return str(value).upper()
        if kind == "decimal":
            if isinstance(value, bool):
                raise TypeError
            return Decimal(str(value))
        if kind == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "y"}:
                return True
            if text in {"0", "false", "no", "n", ""}:
                return False
            raise ValueError
        if kind == "date":
            if isinstance(value, dt.datetime):
                return value.date().isoformat()
            if isinstance(value, dt.date):
                return value.isoformat()
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except (TypeError, ValueError, InvalidOperation):
        raise MappingError(
            row.target, row.bc_field, f"cannot convert {value!r} to {row.get_transform_display()}"
        ) from None
    return value


def mapping_rows(connection: Connection, target: str) -> list[FieldMapping]:
    """The enabled rows for ``target``: the connection's own, else the global ones, in order."""
    rows = FieldMapping.objects.filter(target=target, enabled=True).filter(
        Q(connection__isnull=True) | Q(connection=connection)
    )
    chosen: dict[str, FieldMapping] = {}
    for row in sorted(rows, key=lambda r: (r.connection_id is not None, r.position)):
        chosen[row.bc_field] = row  # a connection's own row beats the global one
    return sorted(chosen.values(), key=lambda r: (r.position, r.bc_field))


def apply_mappings(
    connection: Connection, target: str, source: Mapping[str, Any], *, rows: list[FieldMapping] | None = None
) -> dict[str, Any]:
    """The BC body for ``target`` built from ``source``.

    Without mapping rows for ``target`` the source is returned as a copy. With rows, the
    result holds the mapped fields plus the source's keys that already are fields of the
    API entity set (so BC-shaped input keeps working).

    Args:
        connection: Rows of this connection win over global rows (connection empty).
        target: Entity set or web service name (``salesOrders``, ``ItemCard``).
        source: The caller's dict.
        rows: The rows of :func:`mapping_rows` (pass them when mapping many sources).

    Returns:
        A new dict (Decimals for decimal transforms; :func:`bcbridge.http.dumps` sends them
        as exact JSON numbers).

    Raises:
        MappingError: A required value is missing, cannot be converted, or is too long.
    """
    rows = mapping_rows(connection, target) if rows is None else rows
    if not rows:
        return dict(source)
    spec = catalog().get(target)
    known = {f.name for f in spec.fields if not f.read_only} if spec else set()
    body = {k: v for k, v in source.items() if k in known}
    for row in rows:
        value = get_path(source, row.source_path) if row.source_path else _MISSING
        if value is _MISSING or value is None or value == "":
            if row.constant is not None:
                value = row.constant
            elif row.required:
                where = f"source path {row.source_path!r}" if row.source_path else "no source path"
                raise MappingError(target, row.bc_field, f"required, but there is no value ({where})")
            else:
                continue
        value = _convert(row, value)
        if row.max_length and isinstance(value, str) and len(value) > row.max_length:
            raise MappingError(
                target,
                row.bc_field,
                f"{value!r} is {len(value)} characters, BC allows {row.max_length} (Application_StringExceededLength)",
            )
        body[row.bc_field] = value
    return body


def remember_external_id(
    connection: Connection,
    company_id: str,
    system: str,
    entity_set: str,
    external_id: str,
    bc_id: str,
    bc_number: str = "",
) -> ExternalIdMap:
    """Insert or update one map row and return it."""
    row, _ = ExternalIdMap.objects.update_or_create(
        connection=connection,
        company_id=str(company_id).lower(),
        system=system,
        entity_set=entity_set,
        external_id=str(external_id),
        defaults={"bc_id": str(bc_id).lower(), "bc_number": bc_number or ""},
    )
    return row


def resolve_external_id(
    bc: BC,
    company_id: str,
    system: str,
    entity_set: str,
    external_id: str,
    *,
    lookup_field: str = "number",
    create: Mapping[str, Any] | None = None,
) -> ExternalIdMap:
    """BC's record for ``(system, external_id)``: from the map, else found or created in BC.

    Order: the map; then BC's ``entity_set`` filtered by ``lookup_field eq external_id``
    (seed 004: the BC number is the external id); then, when ``create`` is given, a search
    by the new record's ``number``/``email`` (so a retry after a lost answer finds the one
    created before) and finally ``POST`` of ``create``. What is found or created is stored
    in the map.

    Raises:
        MappingError: Not in the map, not in BC, and nothing to create.
        BCAPIError, TransportError: From BC.
    """
    connection = bc.connection
    company_id = str(company_id).lower()
    row = ExternalIdMap.objects.filter(
        connection=connection, company_id=company_id, system=system, entity_set=entity_set, external_id=str(external_id)
    ).first()
    if row is not None:
        return row
    records = bc.company(company_id).entity_set(entity_set)
    found = _first(records, F(lookup_field) == str(external_id)) if lookup_field else None
    if found is None and create is not None:
        for name in ("number", "email"):
            if create.get(name):
                found = _first(records, F(name) == str(create[name]))
                if found is not None:
                    break
        if found is None:
            found = records.create(dict(create))
    if found is None:
        raise MappingError(
            entity_set,
            str(external_id),
            f"no {system} id {external_id!r} in the external-id map "
            f"and no BC record with {lookup_field} eq {external_id!r}",
        )
    return remember_external_id(
        connection, company_id, system, entity_set, str(external_id), str(found["id"]), str(found.get("number", ""))
    )


def _first(records: Any, condition: Any) -> dict[str, Any] | None:
    for record in records.list(filter=condition, top=1):
        return dict(record)
    return None
